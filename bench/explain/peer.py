"""shap's TreeExplainer on the trees explain.ts wrote: path-dependent TreeSHAP in shap's C++.

    python peer.py <dir> <rounds>

Reads <dir>/model.json (shap's dict form of our trees: children_left/right/default, features,
thresholds, values, node_sample_weight = our stored node cover; base_offset = base_values) and
<dir>/x.npy (float32 rows). Writes <dir>/shap.npy (float64 SHAP values) and prints one JSON
line: expected value, median wall and CPU seconds of `shap_values` over all rows (after one
untimed warm-up call), and the versions.
"""

import json
import sys
import time

import numpy as np
import shap

folder, rounds = sys.argv[1], int(sys.argv[2])
with open(f"{folder}/model.json") as f:
    spec = json.load(f)
trees = []
for t in spec["trees"]:
    trees.append(
        {
            "children_left": np.array(t["children_left"], dtype=np.int32),
            "children_right": np.array(t["children_right"], dtype=np.int32),
            "children_default": np.array(t["children_default"], dtype=np.int32),
            "features": np.array(t["features"], dtype=np.int32),
            "thresholds": np.array(t["thresholds"], dtype=np.float64),
            "values": np.array(t["values"], dtype=np.float64).reshape(-1, 1),
            "node_sample_weight": np.array(t["node_sample_weight"], dtype=np.float64),
        }
    )
model = {"trees": trees, "base_offset": spec["base_offset"], "tree_output": "raw_value"}
X = np.load(f"{folder}/x.npy")
explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
explainer.shap_values(X[:10])
walls, cpus = [], []
for _ in range(rounds):
    w, c = time.perf_counter(), time.process_time()
    values = explainer.shap_values(X)
    walls.append(time.perf_counter() - w)
    cpus.append(time.process_time() - c)
np.save(f"{folder}/shap.npy", np.asarray(values, dtype=np.float64))
# One row at a time, as a server explains a request.
single = []
for r in range(min(200, X.shape[0])):
    w = time.perf_counter()
    explainer.shap_values(X[r : r + 1])
    single.append(time.perf_counter() - w)
print(
    json.dumps(
        {
            "expected": float(np.ravel(explainer.expected_value)[0]),
            "wall": float(np.median(walls)),
            "cpu": float(np.median(cpus)),
            "single": float(np.median(single)),
            "version": f"shap {shap.__version__}, numpy {np.__version__}",
        }
    )
)
