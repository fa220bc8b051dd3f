"""Read back, with MLflow's own Python client, what Vigil's MLflow adapter wrote.

Usage: python read-back.py '{"runIds": [...], "model": "...", "aliases": [...], "artifacts": [...]}'
with MLFLOW_TRACKING_URI set. Prints one JSON document on stdout: everything MlflowClient sees,
artifact bytes as base64, so the TypeScript test can compare it with what it wrote.
"""

import base64
import json
import os
import sys
import tempfile

from mlflow import MlflowClient
import mlflow.artifacts

spec = json.loads(sys.argv[1])
client = MlflowClient()  # tracking and registry URI from MLFLOW_TRACKING_URI


def read_bytes(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode("ascii")


def version_view(v):
    return {
        "name": v.name,
        "version": str(v.version),
        "run_id": v.run_id,
        "source": v.source,
        "status": v.status,
        "description": v.description or None,
        "tags": dict(v.tags),
        "aliases": sorted(v.aliases),
    }


out = {"runs": {}, "model": None}
for run_id in spec["runIds"]:
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    history = {
        key: [[m.step, m.value, m.timestamp] for m in sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))]
        for key in run.data.metrics
    }
    artifacts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in spec["artifacts"]:
            local = client.download_artifacts(run_id, path, tmp)
            artifacts[path] = read_bytes(local)
        listed = sorted(f.path for f in client.list_artifacts(run_id, os.path.dirname(spec["artifacts"][0]) or None))
    out["runs"][run_id] = {
        "experiment": experiment.name,
        "name": run.info.run_name,
        "status": run.info.status,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
        "history": history,
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        "artifacts": artifacts,
        "listed": listed,
    }

name = spec["model"]
model = client.get_registered_model(name)
versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
with tempfile.TemporaryDirectory() as tmp:
    by_alias = {}
    for alias in spec["aliases"]:
        v = client.get_model_version_by_alias(name, alias)
        # The model version's files through the registry: its download URI (the run's artifact).
        # Not `models:/<name>@<alias>`: that URI treats the source as a model *directory*, and
        # Vigil's job registers the ONNX file itself (MLflow then downloads nothing).
        uri = client.get_model_version_download_uri(name, v.version)
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=os.path.join(tmp, alias))
        files = {}
        if os.path.isdir(local):
            for root, _, names in os.walk(local):
                for n in names:
                    files[os.path.relpath(os.path.join(root, n), local)] = read_bytes(os.path.join(root, n))
        else:
            files[os.path.basename(local)] = read_bytes(local)
        by_alias[alias] = {"version": version_view(v), "files": files}
out["model"] = {
    "name": model.name,
    "description": model.description or None,
    "tags": dict(model.tags),
    "aliases": dict(model.aliases),
    "versions": [version_view(client.get_model_version(name, v.version)) for v in versions],
    "by_alias": by_alias,
}
print(json.dumps(out))
