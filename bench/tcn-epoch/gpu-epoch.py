"""The PyTorch trainer's worker on a GPU machine: epoch times on CUDA against the same machine's CPU.

    python3 bench/tcn-epoch/gpu-epoch.py OUT_DIR [--sizes 50000,500000] [--epochs 3]

Runs adapters/torch-trainer/worker/tcn-worker.py unchanged, as the adapter does (a JOB.json naming
Arrow IPC files), on data shaped like bench/tcn-epoch/tcn-epoch.ts: rows of 20 standard-normal
features, 50 rows per patient, label f0 + 0.5·noise > 1, sequences of L = 14 steps (the row after
its patient's 13 earlier rows, NaN-padded, as toSequences builds them), hidden 32, 3 blocks,
kernel 3, dropout 0.1, Adam, seed 1, no validation set. Per size it runs the worker on `cuda`,
then on `cpu` with 1 thread and with all cores, with batch 256 (the adapter's default) and, on
CUDA, batch 4096 too. Prints one JSON line per run and a summary; writes results.json and the
CUDA-trained model to OUT_DIR.

It needs only python3 with torch, numpy and pyarrow (the GPU machine has them; no Node).
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.ipc

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "..", "..", "adapters", "torch-trainer", "worker", "tcn-worker.py")
D, L, PER_PATIENT = 20, 14, 50


def make_data(rows, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, D), dtype=np.float32)
    y = (x[:, 0] + 0.5 * rng.standard_normal(rows) > 1).astype(np.uint8)
    seq = np.full((rows, L, D), np.nan, dtype=np.float32)
    for k in range(L):
        # step L-1-k holds the row k places earlier of the same patient (50 rows per patient).
        shift = k
        src = np.arange(rows) - shift
        same = (src >= 0) & (src // PER_PATIENT == np.arange(rows) // PER_PATIENT)
        seq[same, L - 1 - k, :] = x[src[same]]
    mean = x.mean(axis=0).astype(np.float32)
    scale = (1.0 / x.std(axis=0, ddof=0)).astype(np.float32)
    return seq.reshape(rows, L * D), y, mean, scale


def write_arrow(path, x, y):
    width = x.shape[1]
    values = pa.array(x.reshape(-1), type=pa.float32())
    column = pa.FixedSizeListArray.from_arrays(values, width)
    table = pa.table({"x": column, "y": pa.array(y, type=pa.uint8())})
    with pa.OSFile(path, "wb") as sink:
        with pyarrow.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)


def run(job_path, label):
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, WORKER, job_path], capture_output=True, text=True)
    wall = time.perf_counter() - started
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    done = next((e for e in events if e.get("event") == "done"), None)
    ready = next((e for e in events if e.get("event") == "ready"), {})
    epochs = [e["seconds"] for e in events if e.get("event") == "epoch" and "seconds" in e]
    result = {
        "run": label,
        "device": ready.get("device"),
        "torch": ready.get("torch"),
        "threads": ready.get("threads"),
        "epochSeconds": epochs,
        "meanEpochSeconds": done.get("epoch_seconds") if done else None,
        "wallSeconds": wall,
        "ok": proc.returncode == 0,
    }
    if proc.returncode != 0:
        result["stderrTail"] = proc.stderr.strip().splitlines()[-8:]
    print(json.dumps(result), flush=True)
    return result


def main():
    out = sys.argv[1]
    sizes = [50_000, 500_000]
    epochs = 3
    args = sys.argv[2:]
    if "--sizes" in args:
        sizes = [int(s) for s in args[args.index("--sizes") + 1].split(",")]
    if "--epochs" in args:
        epochs = int(args[args.index("--epochs") + 1])
    os.makedirs(out, exist_ok=True)
    work = os.path.join("/tmp", "vigil-gpu-epoch")
    os.makedirs(work, exist_ok=True)
    cores = os.cpu_count() or 1
    try:
        import torch

        cuda = torch.cuda.is_available()
        gpu = torch.cuda.get_device_name(0) if cuda else None
    except Exception:  # noqa: BLE001
        cuda, gpu = False, None
    results = {"gpu": gpu, "cores": cores, "runs": []}
    for rows in sizes:
        x, y, mean, scale = make_data(rows)
        train = os.path.join(work, f"train-{rows}.arrow")
        write_arrow(train, x, y)
        plans = []
        if cuda:
            plans += [("cuda", 1, 256), ("cuda", 1, 4096)]
        plans += [("cpu", 1, 256), ("cpu", cores, 256)]
        if cuda:
            plans += [("cpu", cores, 4096)]
        for device, threads, batch in plans:
            if device == "cpu" and threads == 1 and rows > 100_000:
                continue  # 1-thread CPU at the large size: minutes per epoch, measured at the small size
            label = f"{rows}:{device}:{threads}t:b{batch}"
            onnx = os.path.join(work, f"model-{rows}-{device}-{threads}-{batch}.onnx")
            job = {
                "train": train,
                "validation": None,
                "onnx": onnx,
                "sequenceLength": L,
                "features": D,
                "mean": mean.tolist(),
                "scale": scale.tolist(),
                "params": {
                    "sequenceLength": L,
                    "blocks": 3,
                    "kernelSize": 3,
                    "hidden": 32,
                    "dropout": 0.1,
                    "learningRate": 0.001,
                    "beta1": 0.9,
                    "beta2": 0.999,
                    "epsilon": 1e-8,
                    "batchSize": batch,
                    "maxEpochs": epochs,
                    "patience": 5,
                },
                "seed": 1,
                "device": device,
                "threads": threads,
            }
            job_path = os.path.join(work, f"job-{label.replace(':', '-')}.json")
            with open(job_path, "w", encoding="utf-8") as f:
                json.dump(job, f)
            r = run(job_path, label)
            r.update(rows=rows, batch=batch)
            results["runs"].append(r)
            if device == "cuda" and batch == 256 and rows == sizes[0] and r["ok"] and os.path.exists(onnx):
                with open(onnx, "rb") as src, open(os.path.join(out, "cuda-model.onnx"), "wb") as dst:
                    dst.write(src.read())
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    print("summary (mean epoch seconds):")
    for r in results["runs"]:
        print(f"  {r['run']:<28} {r['meanEpochSeconds']}")


if __name__ == "__main__":
    main()
