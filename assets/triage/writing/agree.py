#!/usr/bin/env python3
"""How often independent labellers agree: python3 agree.py ORIGINAL RELABEL...

ORIGINAL is a labelled JSONL file (e.g. tests/data/blind-c.jsonl); each
RELABEL is the same narratives labelled again by someone who saw only the
texts and LABELS.md (writing/RELABEL.md). Prints, for every pair of
labellers: category and priority agreement, agency agreement on rows both
call non_police, and the second labeller's recall of the first one's P1.
"""
import itertools, json, sys

def load(path):
    return {r["id"]: r for r in map(json.loads, filter(str.strip, open(path, encoding="utf-8")))}

def compare(a, b):
    ids = [i for i in a if i in b]
    agree = lambda f, rows: sum(a[i][f] == b[i][f] for i in rows) / max(len(rows), 1)
    both_np = [i for i in ids if a[i]["category"] == b[i]["category"] == "non_police"]
    p1 = [i for i in ids if a[i]["priority"] == "P1"]
    return (agree("category", ids), agree("agency", both_np), agree("priority", ids),
            sum(b[i]["priority"] == "P1" for i in p1) / max(len(p1), 1))

labellers = [(p.rsplit("/", 1)[-1], load(p)) for p in sys.argv[1:]]
print("pair\tcategory\tagency (both non_police)\tpriority\tP1 recall")
for (na, a), (nb, b) in itertools.combinations(labellers, 2):
    print(f"{na} vs {nb}\t" + "\t".join(f"{x:.3f}" for x in compare(a, b)))
