"""Run real Feast's `get_historical_features` (file offline store) for Vigil's parity test and
historical-retrieval benchmark, in one process (Feast imports slowly).

Usage: python feast-historical.py < request.json > response.json

Request:
  {"definitions": PATH to the redis adapter's feast-driver.py (its `definitions()` turns Vigil
                  FeatureViews into Feast entities and feature views over FileSources),
   "repo": DIR (created; gets feature_store.yaml: local provider, file offline store),
   "views": [Vigil FeatureView...], "sources": {view name: Parquet path},
   "entity_df": Parquet path (join keys, event_timestamp as UTC timestamps, any extra columns),
   "calls": [{"features": ["view:feature", ...], "out": Parquet path}]}
Each call is `get_historical_features(entity_df, features, full_feature_names=True).to_df()`;
the frame is written to `out` as Parquet (pyarrow: NaN and None become nulls). The response is
{"calls": [{"seconds": wall time of get_historical_features + to_df, "rows": row count,
"peak_rss_mb": the process's peak resident memory so far}]}.
"""

import importlib.util
import json
import os
import resource
import sys
import time

import pandas as pd


def load_definitions(path):
    spec = importlib.util.spec_from_file_location("vigil_feast_driver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.definitions


def main():
    # Feast prints progress on stdout: keep stdout for the JSON response only.
    out = sys.stdout
    sys.stdout = sys.stderr
    request = json.load(sys.stdin)
    from feast import FeatureStore

    repo = request["repo"]
    os.makedirs(repo, exist_ok=True)
    with open(os.path.join(repo, "feature_store.yaml"), "w") as f:
        f.write(
            "\n".join(
                [
                    "project: vigil_parity",
                    f"registry: {os.path.join(repo, 'registry.db')}",
                    "provider: local",
                    "offline_store:",
                    "  type: file",
                    "online_store:",
                    "  type: sqlite",
                    f"  path: {os.path.join(repo, 'online.db')}",
                    "entity_key_serialization_version: 3",
                    "",
                ]
            )
        )
    definitions = load_definitions(request["definitions"])
    store = FeatureStore(repo_path=repo)
    store.apply(definitions(request["views"], request["sources"]))
    entity_df = pd.read_parquet(request["entity_df"])
    results = []
    for call in request["calls"]:
        began = time.perf_counter()
        job = store.get_historical_features(
            entity_df=entity_df, features=call["features"], full_feature_names=True
        )
        df = job.to_df()
        seconds = time.perf_counter() - began
        df.to_parquet(call["out"], index=False)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        results.append({"seconds": seconds, "rows": len(df), "peak_rss_mb": peak})
    json.dump({"calls": results}, out)


if __name__ == "__main__":
    main()
