"""Fit scikit-learn's HistGradientBoostingClassifier or LightGBM on the .npy files gbt-fit.ts wrote.

    python peers.py <dir> <sklearn|lightgbm> <threads> '<params json>'

Prints one JSON line: wall and CPU seconds of `fit` (binning included, as in ours) and the
held-out AUROC. Threads: sklearn's OpenMP pool is limited with threadpoolctl (and OMP_NUM_THREADS,
set by the caller); LightGBM gets n_jobs.
"""

import json
import sys
import time

import numpy as np
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

data, peer, threads, params = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
X = np.load(f"{data}/train-x.npy")
y = np.load(f"{data}/train-y.npy")
Xt = np.load(f"{data}/test-x.npy")
yt = np.load(f"{data}/test-y.npy")

if peer == "sklearn":
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=params["nEstimators"],
        learning_rate=params["learningRate"],
        max_depth=params["maxDepth"],
        max_leaf_nodes=None,
        min_samples_leaf=params["minSamplesLeaf"],
        l2_regularization=params["lambda"],
        max_bins=255,
        early_stopping=False,
        random_state=0,
    )
elif peer == "lightgbm":
    import lightgbm

    model = lightgbm.LGBMClassifier(
        n_estimators=params["nEstimators"],
        learning_rate=params["learningRate"],
        max_depth=params["maxDepth"],
        num_leaves=2 ** params["maxDepth"],
        min_child_samples=params["minSamplesLeaf"],
        min_child_weight=params["minChildWeight"],
        reg_lambda=params["lambda"],
        reg_alpha=0.0,
        min_split_gain=0.0,
        max_bin=255,
        subsample=1.0,
        subsample_freq=0,
        colsample_bytree=1.0,
        n_jobs=threads,
        random_state=0,
        verbose=-1,
    )
else:
    raise SystemExit(f"unknown peer {peer}")

with threadpool_limits(limits=threads):
    wall = time.perf_counter()
    cpu = time.process_time()
    model.fit(X, y)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    scores = model.predict_proba(Xt)[:, 1]

if peer == "sklearn":
    import sklearn

    version = f"scikit-learn {sklearn.__version__}"
else:
    version = f"lightgbm {lightgbm.__version__}"
print(json.dumps({"wall": wall, "cpu": cpu, "auroc": float(roc_auc_score(yt, scores)), "version": version}))
