"""Write, with MLflow's own Python client, a run and a registered model version for Vigil to read.

Usage: python write.py '{"experiment": "...", "model": "..."}' with MLFLOW_TRACKING_URI set.
Prints one JSON document: the run id and what was written.
"""

import json
import os
import sys
import tempfile

from mlflow import MlflowClient

spec = json.loads(sys.argv[1])
client = MlflowClient()
experiment_id = client.create_experiment(spec["experiment"])
run = client.create_run(experiment_id, run_name="from-python", tags={"origin": "python"})
run_id = run.info.run_id
client.log_param(run_id, "alpha", 0.5)
client.log_param(run_id, "solver", "lbfgs")
for step, value in enumerate([0.9, 0.7, 0.65]):
    client.log_metric(run_id, "loss", value, timestamp=1_700_000_000_000 + step, step=step)
client.set_tag(run_id, "stage", "train")
payload = bytes(range(256)) * 3
with tempfile.TemporaryDirectory() as tmp:
    os.makedirs(os.path.join(tmp, "model"))
    with open(os.path.join(tmp, "model", "weights.bin"), "wb") as f:
        f.write(payload)
    client.log_artifacts(run_id, tmp)
client.set_terminated(run_id, "FINISHED")
client.create_registered_model(spec["model"], tags={"owner": "python"}, description="from MlflowClient")
version = client.create_model_version(spec["model"], f"runs:/{run_id}/model", run_id=run_id, tags={"k": "v"})
client.set_registered_model_alias(spec["model"], "champion", version.version)
print(json.dumps({"runId": run_id, "version": version.version, "payload": list(payload[:8]), "size": len(payload)}))
