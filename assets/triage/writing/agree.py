#!/usr/bin/env python3
"""How often independent labellers agree: python3 agree.py ORIGINAL RELABEL...

ORIGINAL is a labelled JSONL file (e.g. tests/data/blind-c.jsonl); each
RELABEL is the same narratives labelled again by someone who saw only the
texts and LABELS.md (writing/RELABEL.md). Prints, for every pair of
labellers: category and priority agreement, agency agreement on rows both
call non_police, and the second labeller's recall of the first one's P1.
Every file must hold the same ids with the same texts.
"""
import itertools, json, os, sys

def load(path):
    rows = {}
    for line in open(path, encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            if r["id"] in rows:
                sys.exit(f"{path}: id {r['id']} twice")
            rows[r["id"]] = r
    return rows

def share(hits, rows):
    return f"{sum(hits) / len(rows):.3f} (n={len(rows)})" if rows else "n/a"

if len(sys.argv) < 3:
    sys.exit(__doc__)
labellers = [(os.path.basename(p), load(p)) for p in sys.argv[1:]]
first_name, first = labellers[0]
for name, rows in labellers[1:]:
    if rows.keys() != first.keys():
        sys.exit(f"{name} and {first_name} hold different ids")
    differ = [i for i in rows if rows[i]["text"] != first[i]["text"]]
    if differ:
        sys.exit(f"{name}: text differs from {first_name} for {differ[:5]}")

print("pair\tcategory\tagency (both non_police)\tpriority\tP1 recall")
for (na, a), (nb, b) in itertools.combinations(labellers, 2):
    ids = list(a)
    both_np = [i for i in ids if a[i]["category"] == b[i]["category"] == "non_police"]
    p1 = [i for i in ids if a[i]["priority"] == "P1"]
    print("\t".join([
        f"{na} vs {nb}",
        share([a[i]["category"] == b[i]["category"] for i in ids], ids),
        share([a[i]["agency"] == b[i]["agency"] for i in both_np], both_np),
        share([a[i]["priority"] == b[i]["priority"] for i in ids], ids),
        share([b[i]["priority"] == "P1" for i in p1], p1),
    ]))
