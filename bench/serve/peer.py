"""The peer of bench/serve: FastAPI + onnxruntime + redis-py serving the same ONNX model file
from the same Redis features (Feast's encoding), written as a team would write it by hand.

Configured by environment (serve.ts sets them):
  PEER_MODEL      the model.onnx file (the registry champion's artifact)
  PEER_SIGNATURE  its signature.json (input name, featureNames in the model's order)
  PEER_VIEWS      the feature store's registry.json (views, their entities, features, dtypes)
  PEER_REDIS_DB / PEER_REDIS_HOST / PEER_REDIS_PORT, PEER_PROJECT
  PEER_MODE       async (default: async def + redis.asyncio) or sync (redis + onnxruntime in
                  Starlette's thread pool)
redis-py parses replies with hiredis (installed in the venv), as a tuned deployment would.

Endpoints: POST /v2/models/{name}/infer with a BYTES input `patient_id` of shape [n] (the same
request body Vigil takes), answering OIP JSON with the `probabilities` output; GET
/v2/health/ready. Per request: one HMGET per patient of every feature field and each view's
`_ts:<view>` field (a pipeline when n > 1), Feast Value protobufs decoded by hand, the row built
in the model's feature order (missing → NaN, the trees' missing branch), onnxruntime on it.
Also `python peer.py floor <n>`: the physical floor, in one process: n × (one HMGET of one
patient) and n × (onnxruntime on one row), each timed alone; prints JSON.
"""

import json
import math
import os
import struct
import sys
import time

import numpy as np
import onnxruntime as ort

# --- Feast's Redis encoding (read from adapters/redis: entity key v3, murmur3 fields, Value) ---


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32, as Feast's mmh3 field names use it."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    n = len(data) // 4
    for i in range(n):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[4 * n :]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def field_of(view: str, feature: str) -> bytes:
    return murmur3_32(f"{view}:{feature}".encode()).to_bytes(4, "little")


def entity_key(join_key: str, value: str, project: str) -> bytes:
    """serialize_entity_key v3 of one string join key, followed by the project name."""
    name = join_key.encode()
    v = value.encode()
    return (
        struct.pack("<III", 1, 2, len(name))
        + name
        + struct.pack("<II", 2, len(v))
        + v
        + project.encode()
    )


def varint(buf: bytes, pos: int):
    out = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        if b < 0x80:
            return out, pos
        shift += 7


def decode_value(buf) -> float:
    """A feast.types.Value as a float (NaN for missing / empty / null_val)."""
    if not buf:
        return math.nan
    tag = buf[0]
    if tag == 0x29:  # double_val (5, fixed64)
        return struct.unpack_from("<d", buf, 1)[0]
    if tag == 0x35:  # float_val (6, fixed32)
        return struct.unpack_from("<f", buf, 1)[0]
    if tag in (0x18, 0x20, 0x38):  # int32_val, int64_val, bool_val (varint)
        v, _ = varint(buf, 1)
        bits = 32 if tag == 0x18 else 64
        if tag != 0x38 and v >= 1 << (bits - 1):
            v -= 1 << bits
        return float(v)
    return math.nan  # null_val or a member with no numeric form


# --- the model and the feature plan ---

SIG = json.load(open(os.environ["PEER_SIGNATURE"]))
VIEWS = json.load(open(os.environ["PEER_VIEWS"]))["views"]
PROJECT = os.environ["PEER_PROJECT"]
INPUT = SIG["inputs"][0]["name"]
NAMES = SIG["featureNames"]
D = len(NAMES)
JOIN_KEY = "patient_id"
# Every view the model reads is keyed by patient_id alone: one Redis hash per patient holds
# them all, so one HMGET reads a patient's row (each feature field, then each view's _ts).
FIELDS = []
for name in NAMES:
    view, feature = name.split("__", 1)
    assert VIEWS[view]["view"]["entities"] == [JOIN_KEY], VIEWS[view]["view"]["entities"]
    FIELDS.append(field_of(view, feature))
TS_FIELDS = [f"_ts:{v}".encode() for v in dict.fromkeys(n.split("__", 1)[0] for n in NAMES)]
ALL_FIELDS = FIELDS + TS_FIELDS

opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
opts.inter_op_num_threads = 1
opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
SESSION = ort.InferenceSession(os.environ["PEER_MODEL"], opts, providers=["CPUExecutionProvider"])

REDIS = dict(
    host=os.environ.get("PEER_REDIS_HOST", "127.0.0.1"),
    port=int(os.environ.get("PEER_REDIS_PORT", "6379")),
    db=int(os.environ.get("PEER_REDIS_DB", "0")),
)


class UnknownPatient(Exception):
    pass


def matrix(replies) -> np.ndarray:
    x = np.empty((len(replies), D), dtype=np.float32)
    for i, reply in enumerate(replies):
        if all(b is None for b in reply):
            raise UnknownPatient(i)
        x[i] = [decode_value(b) for b in reply[:D]]
    return x


def parse_ids(body) -> list:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise ValueError("expected one input")
    t = inputs[0]
    if t.get("name") != JOIN_KEY or t.get("datatype") != "BYTES":
        raise ValueError("inputs[0] must be patient_id, BYTES")
    data = t.get("data")
    shape = t.get("shape")
    if not isinstance(data, list) or not isinstance(shape, list) or len(data) != shape[0] or not data:
        raise ValueError("inputs[0].data must hold shape[0] ids")
    if not all(isinstance(i, str) and i for i in data):
        raise ValueError("ids must be non-empty strings")
    return data


def answer(name: str, x: np.ndarray) -> dict:
    (proba,) = SESSION.run(["probabilities"], {INPUT: x})
    return {
        "model_name": name,
        "outputs": [
            {
                "name": "probabilities",
                "shape": list(proba.shape),
                "datatype": "FP32",
                "data": proba.ravel().tolist(),
            }
        ],
    }


def make_app():
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()
    mode = os.environ.get("PEER_MODE", "async")

    @app.get("/v2/health/ready")
    def ready():
        return {"ready": True}

    def bad(error: Exception):
        if isinstance(error, UnknownPatient):
            return JSONResponse({"error": f"patient_id[{error.args[0]}]: unknown"}, status_code=404)
        return JSONResponse({"error": str(error)}, status_code=400)

    if mode == "sync":
        import redis
        from starlette.concurrency import run_in_threadpool

        client = redis.Redis(**REDIS)

        def work(name: str, body: bytes):
            ids = parse_ids(json.loads(body))
            if len(ids) == 1:
                replies = [client.hmget(entity_key(JOIN_KEY, ids[0], PROJECT), ALL_FIELDS)]
            else:
                pipe = client.pipeline(transaction=False)
                for i in ids:
                    pipe.hmget(entity_key(JOIN_KEY, i, PROJECT), ALL_FIELDS)
                replies = pipe.execute()
            return answer(name, matrix(replies))

        # Blocking redis-py and onnxruntime in Starlette's thread pool, as a plain `def` handler runs.
        @app.post("/v2/models/{name}/infer")
        async def infer_sync(name: str, request: Request):
            try:
                return JSONResponse(await run_in_threadpool(work, name, await request.body()))
            except (ValueError, UnknownPatient) as error:
                return bad(error)

    else:
        import redis.asyncio as aredis

        client = aredis.Redis(**REDIS)

        @app.post("/v2/models/{name}/infer")
        async def infer(name: str, request: Request):
            try:
                ids = parse_ids(json.loads(await request.body()))
                if len(ids) == 1:
                    replies = [await client.hmget(entity_key(JOIN_KEY, ids[0], PROJECT), ALL_FIELDS)]
                else:
                    pipe = client.pipeline(transaction=False)
                    for i in ids:
                        pipe.hmget(entity_key(JOIN_KEY, i, PROJECT), ALL_FIELDS)
                    replies = await pipe.execute()
                return JSONResponse(answer(name, matrix(replies)))
            except (ValueError, UnknownPatient) as error:
                return bad(error)

    return app


def floor(n: int, ids: list) -> dict:
    """The physical floor, each part alone: one HMGET of one patient; onnxruntime on one row."""
    import redis

    client = redis.Redis(**REDIS)
    keys = [entity_key(JOIN_KEY, i, PROJECT) for i in ids]
    rows = [matrix([client.hmget(k, ALL_FIELDS)]) for k in keys]
    for k in keys[:50]:
        client.hmget(k, ALL_FIELDS)
    for r in rows[:50]:
        SESSION.run(["probabilities"], {INPUT: r})
    redis_ms, model_ms = [], []
    for j in range(n):
        k = keys[j % len(keys)]
        t = time.perf_counter_ns()
        client.hmget(k, ALL_FIELDS)
        redis_ms.append((time.perf_counter_ns() - t) / 1e6)
        r = rows[j % len(rows)]
        t = time.perf_counter_ns()
        SESSION.run(["probabilities"], {INPUT: r})
        model_ms.append((time.perf_counter_ns() - t) / 1e6)
    return {"redis_ms": redis_ms, "model_ms": model_ms}


if __name__ == "__main__":
    if sys.argv[1] == "floor":
        print(json.dumps(floor(int(sys.argv[2]), json.loads(sys.argv[3]))))
    elif sys.argv[1] == "score":
        # Probabilities of the given patients, one request's worth, without HTTP (parity check).
        import redis

        client = redis.Redis(**REDIS)
        ids = json.loads(sys.argv[2])
        x = matrix([client.hmget(entity_key(JOIN_KEY, i, PROJECT), ALL_FIELDS) for i in ids])
        print(json.dumps(answer("m", x)["outputs"][0]["data"][1::2]))
    elif sys.argv[1] == "serve":
        import uvicorn

        # One worker process (one event loop), no access log: the equal of one Node process.
        # uvloop + httptools, as `uvicorn[standard]` deploys it; named, so a missing one fails
        # instead of silently falling back to asyncio + h11.
        uvicorn.run(
            make_app(),
            host="127.0.0.1",
            port=int(sys.argv[2]),
            workers=1,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
        )
