#!/usr/bin/env python3
"""Validate a JSONL batch: python3 /tmp/writer/check.py FILE. Prints counts and any bad lines."""
import json, sys, collections
CATS = {"criminal","public_order","mass_incident","disaster_accident","other_crime_urgent","public_safety_help","police_misconduct","non_police","invalid"}
AG = {"120","119","12345","market_regulation","civil_affairs","emergency_mgmt","transport","urban_management","environment","utilities","telecom","commercial_service","none"}
PR = {"P1","P2","P3","P4"}; CH = {"voice","sms","wechat","web"}
rows=[]; bad=0; ids=set(); texts=set()
for n,l in enumerate(open(sys.argv[1],encoding="utf-8"),1):
    if not l.strip(): continue
    try: r=json.loads(l)
    except Exception as e: print(f"line {n}: not JSON: {e}"); bad+=1; continue
    errs=[]
    for k,s in (("category",CATS),("agency",AG),("priority",PR),("channel",CH)):
        if r.get(k) not in s: errs.append(f"{k}={r.get(k)!r}")
    if not r.get("text") or not r.get("id"): errs.append("missing id/text")
    if r.get("id") in ids: errs.append("duplicate id")
    if r.get("text") in texts: errs.append("duplicate text")
    if r.get("category") in ("non_police","invalid") and r.get("priority")!="P4": errs.append("non_police/invalid must be P4")
    if r.get("category")=="non_police" and r.get("agency")=="none": errs.append("non_police needs an agency")
    if r.get("category")=="invalid" and r.get("agency")!="none": errs.append("invalid has agency none")
    if errs: print(f"line {n}: "+", ".join(errs)); bad+=1
    ids.add(r.get("id")); texts.add(r.get("text")); rows.append(r)
print(len(rows),"rows,",bad,"bad")
for k in ("category","agency","priority","channel"):
    print(k, dict(collections.Counter(r.get(k) for r in rows).most_common()))
