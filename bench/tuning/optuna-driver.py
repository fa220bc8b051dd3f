"""Optuna's side of bench/tuning: TPESampler (defaults, seeded) in an ask/tell loop; each
trial's params go as one JSON line to a Node child that trains and scores our GBT on the
benchmark's folds (bench/tuning/objective-server.ts) and answers with the mean AUROC.

    python optuna-driver.py <config.json>    # printed: one JSON line with the result
"""
import json
import subprocess
import sys
import time

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

cfg = json.load(open(sys.argv[1]))
optuna.logging.set_verbosity(optuna.logging.WARNING)

child = subprocess.Popen(cfg["node"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
assert json.loads(child.stdout.readline()).get("ready"), "objective child did not start"

distributions = {}
for name, r in sorted(cfg["space"].items()):
    if "values" in r:
        distributions[name] = CategoricalDistribution(r["values"])
    elif r.get("integer"):
        distributions[name] = IntDistribution(int(r["low"]), int(r["high"]), log=bool(r.get("log")))
    else:
        distributions[name] = FloatDistribution(r["low"], r["high"], log=bool(r.get("log")))

study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=cfg["seed"]))
values = []
began = time.perf_counter()
for _ in range(cfg["trials"]):
    trial = study.ask(distributions)
    params = dict(cfg["base"])
    params.update(trial.params)
    params[cfg["resourceParam"]] = cfg["resource"]
    child.stdin.write(json.dumps({"params": params}) + "\n")
    child.stdin.flush()
    value = json.loads(child.stdout.readline())["value"]
    if value is None:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, value)
    values.append(value)
wall = time.perf_counter() - began
child.stdin.close()
child.wait()
print(
    json.dumps(
        {
            "optuna": optuna.__version__,
            "wall": wall,
            "best": study.best_value,
            "bestTrial": study.best_trial.number,
            "bestParams": study.best_trial.params,
            "values": values,
        }
    )
)
