"""Drive real Feast (from the feast venv) for Vigil's interop tests, in one process.

Usage: python feast-driver.py < request.json > response.json

The request names Feast repos (a directory with feature_store.yaml each), the feature views
(in Vigil's FeatureView shape, so both sides use the same definitions) and a list of steps:
  {"op": "apply", "repo": DIR}
  {"op": "materialize", "repo": DIR, "start": ISO, "end": ISO}
  {"op": "online", "repo": DIR, "features": ["view:feature", ...], "entity_rows": [...],
   "full_feature_names": bool}
The response has one result per step; online results are Feast's `to_dict()` with datetimes
as {"$ts": epoch seconds}.
"""

import json
import sys
from datetime import datetime, timedelta

from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Bool, Float32, Float64, Int32, Int64, String, UnixTimestamp

DTYPES = {
    "float64": Float64,
    "float32": Float32,
    "int64": Int64,
    "int32": Int32,
    "string": String,
    "bool": Bool,
    "timestamp": UnixTimestamp,
}
ENTITY_TYPES = {"string": ValueType.STRING, "int64": ValueType.INT64, "int32": ValueType.INT32}


def definitions(views, sources):
    entities = {}
    objects = []
    for view in views:
        dtypes = view.get("entityDtypes") or {}
        view_entities = []
        for key in view["entities"]:
            if key not in entities:
                entities[key] = Entity(
                    name=key, join_keys=[key], value_type=ENTITY_TYPES[dtypes.get(key, "string")]
                )
            view_entities.append(entities[key])
        source = FileSource(
            name=f"{view['name']}_source",
            path=sources[view["name"]],
            timestamp_field=view["source"]["timestampField"],
            created_timestamp_column=view["source"].get("createdTimestampField") or "",
        )
        schema = [Field(name=k, dtype=DTYPES[dtypes.get(k, "string")]) for k in view["entities"]]
        schema += [Field(name=f["name"], dtype=DTYPES[f["dtype"]]) for f in view["features"]]
        objects.append(
            FeatureView(
                name=view["name"],
                entities=view_entities,
                ttl=timedelta(seconds=view["ttlSeconds"]),
                schema=schema,
                source=source,
                online=True,
            )
        )
    return list(entities.values()) + objects


def jsonable(value):
    if isinstance(value, datetime):
        return {"$ts": value.timestamp()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def main():
    # Feast prints progress on stdout: keep stdout for the JSON response only.
    out = sys.stdout
    sys.stdout = sys.stderr
    request = json.load(sys.stdin)
    stores = {}
    results = []
    for step in request["steps"]:
        repo = step["repo"]
        store = stores.get(repo) or stores.setdefault(repo, FeatureStore(repo_path=repo))
        op = step["op"]
        if op == "apply":
            store.apply(definitions(request["views"], request["sources"]))
            results.append({"ok": True})
        elif op == "materialize":
            store.materialize(
                start_date=datetime.fromisoformat(step["start"].replace("Z", "+00:00")),
                end_date=datetime.fromisoformat(step["end"].replace("Z", "+00:00")),
            )
            results.append({"ok": True})
        elif op == "online":
            response = store.get_online_features(
                features=step["features"],
                entity_rows=step["entity_rows"],
                full_feature_names=step.get("full_feature_names", False),
            )
            results.append(jsonable(response.to_dict()))
        else:
            raise ValueError(f"unknown op {op!r}")
    json.dump({"results": results}, out)


if __name__ == "__main__":
    main()
