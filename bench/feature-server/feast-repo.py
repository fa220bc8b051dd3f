"""Set up a throwaway Feast repo (sqlite online store) with the benchmark's rows, for `feast serve`.

Usage: python feast-repo.py REPO_DIR ROWS_JSON
ROWS_JSON: [{"patient_id": ..., "event_timestamp": ISO, "<feature>": value, ...}, ...]
"""
import json
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

repo = Path(sys.argv[1])
rows = json.loads(Path(sys.argv[2]).read_text())
repo.mkdir(parents=True, exist_ok=True)
(repo / "feature_store.yaml").write_text(
    "project: vigil_bench\n"
    "provider: local\n"
    f"registry: {repo / 'registry.db'}\n"
    f"online_store:\n  type: sqlite\n  path: {repo / 'online.db'}\n"
    "entity_key_serialization_version: 3\n"
)
df = pd.DataFrame(rows)
df["event_timestamp"] = pd.to_datetime(df["event_timestamp"], utc=True)
df.to_parquet(repo / "source.parquet")
patient = Entity(name="patient", join_keys=["patient_id"], value_type=ValueType.STRING)
features = [c for c in df.columns if c not in ("patient_id", "event_timestamp")]
view = FeatureView(
    name="vitals_window",
    entities=[patient],
    ttl=timedelta(days=7),
    schema=[Field(name=c, dtype=Int64 if c.endswith("count_24h") else Float64) for c in features],
    source=FileSource(path=str(repo / "source.parquet"), timestamp_field="event_timestamp"),
)
store = FeatureStore(repo_path=str(repo))
store.apply([patient, view])
store.write_to_online_store("vitals_window", df)
print(f"feast repo ready: {len(df)} rows")
