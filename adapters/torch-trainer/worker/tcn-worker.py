"""Vigil's PyTorch TCN worker, spawned by @vigil/adapter-torch-trainer (one process per `train`).

    python tcn-worker.py JOB.json

JOB.json names the Arrow IPC files the trainer wrote (column `x`: fixed-size lists of L*d float32,
the raw sequences of adapters/node-trainer's toSequences, NaN = missing; column `y`: uint8 labels),
the standardiser (per-feature mean and scale, float32), the resolved TCN params, the seed, the
device and the thread count, and where to write the ONNX file.

It trains the same TCN as adapters/node-trainer/src/tcn (see that package's README, "TCN"): input
[N, L*d] -> Reshape [N, L, d] -> (x - mean) * scale with NaN -> 0 -> Transpose [N, d, L] -> B
residual blocks (block b: dilation 2^b, causal Conv -> ReLU -> dropout -> causal Conv -> ReLU ->
dropout, plus a 1x1 Conv residual when the channels differ, Add, ReLU) -> the last step [N, H] ->
MatMul [H, 1] + bias = logit. Mean binary cross-entropy, Adam, shuffled mini-batches, early stopping
on the validation log-loss after `patience` epochs without improvement, best epoch kept; exported
with torch.onnx.export (opset 17, input `input`, output `logit` [N, 1]); the trainer appends the
probability head (and calibrator) and Vigil's metadata.

Protocol: one JSON object per stdout line, each with an "event":
  {"event": "ready", "device": "cpu", "torch": "1.13.1", "threads": 1}
  {"event": "epoch", "epoch": 1, "train_loss": ..., "val_loss": ..., "seconds": ...}
  {"event": "done", "epochs": ..., "best_epoch": ..., "epoch_seconds": ..., "onnx": PATH}
  {"event": "error", "message": ...}   (then a traceback on stderr and exit status 2)
With "watchStdin" in JOB.json the worker exits when its stdin closes (the trainer died), so it never
outlives the trainer.
"""

import json
import math
import os
import sys
import threading
import time
import traceback


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, **fields}, allow_nan=True) + "\n")
    sys.stdout.flush()


def watch_parent():
    """Exit as soon as stdin reaches EOF: the trainer closed it (or died)."""

    def run():
        # os.read on the descriptor, not sys.stdin: a daemon thread blocked inside a buffered
        # reader aborts the interpreter's shutdown.
        try:
            while os.read(0, 4096):
                pass
        finally:
            os._exit(3)

    threading.Thread(target=run, daemon=True).start()


def read_arrow(path, width):
    import numpy as np
    import pyarrow as pa
    import pyarrow.ipc

    with pa.memory_map(path, "r") as source:
        table = pyarrow.ipc.open_file(source).read_all()
    xs = table.column("x").combine_chunks()
    if xs.type.list_size != width:
        raise ValueError(f"{path}: column x has lists of {xs.type.list_size} values, expected {width}")
    x = np.array(xs.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    y = np.array(table.column("y").combine_chunks().to_numpy(zero_copy_only=False), dtype=np.float32)
    return x.reshape(len(table), width), y


def build_model(torch, job):
    nn = torch.nn
    p = job["params"]
    L, d = job["sequenceLength"], job["features"]
    H, K, B = p["hidden"], p["kernelSize"], p["blocks"]

    class Block(nn.Module):
        def __init__(self, cin, dilation):
            super().__init__()
            self.pad = (K - 1) * dilation
            # Conv1d pads both sides; slicing off the last `pad` outputs makes it causal (left
            # padding only), which exports as Conv + Slice.
            self.conv1 = nn.Conv1d(cin, H, K, dilation=dilation, padding=self.pad)
            self.conv2 = nn.Conv1d(H, H, K, dilation=dilation, padding=self.pad)
            self.res = nn.Conv1d(cin, H, 1) if cin != H else None
            self.dropout = nn.Dropout(p["dropout"])

        def causal(self, conv, x):
            out = conv(x)
            return out[:, :, : -self.pad] if self.pad > 0 else out

        def forward(self, x):
            h = self.dropout(torch.relu(self.causal(self.conv1, x)))
            h = self.dropout(torch.relu(self.causal(self.conv2, h)))
            residual = x if self.res is None else self.res(x)
            return torch.relu(h + residual)

    class Tcn(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(job["mean"], dtype=torch.float32))
            self.register_buffer("scale", torch.tensor(job["scale"], dtype=torch.float32))
            self.register_buffer("zero", torch.zeros((), dtype=torch.float32))
            self.blocks = nn.ModuleList(Block(d if b == 0 else H, 2**b) for b in range(B))
            self.head_w = nn.Parameter(torch.zeros(H, 1))
            self.head_b = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            steps = x.reshape(-1, L, d)
            z = torch.where(torch.isnan(steps), self.zero, (steps - self.mean) * self.scale)
            h = z.transpose(1, 2)
            for block in self.blocks:
                h = block(h)
            return torch.matmul(h[:, :, L - 1], self.head_w) + self.head_b

    model = Tcn()
    # He-uniform conv weights U(+-sqrt(6 / (Cin*K))), head U(+-sqrt(3 / H)), zero biases, as the TS TCN.
    init = torch.Generator().manual_seed(job["seed"])
    with torch.no_grad():
        for block in model.blocks:
            for conv in (block.conv1, block.conv2, block.res):
                if conv is None:
                    continue
                cout, cin, k = conv.weight.shape
                bound = math.sqrt(6.0 / (cin * k))
                conv.weight.copy_(torch.rand(conv.weight.shape, generator=init) * (2 * bound) - bound)
                conv.bias.zero_()
        bound = math.sqrt(3.0 / H)
        model.head_w.copy_(torch.rand(model.head_w.shape, generator=init) * (2 * bound) - bound)
    return model


def export_onnx(torch, model, job, path):
    import inspect

    kwargs = dict(
        input_names=["input"],
        output_names=["logit"],
        dynamic_axes={"input": {0: "N"}, "logit": {0: "N"}},
        opset_version=17,
        do_constant_folding=True,
        export_params=True,
    )
    # torch >= 2.5 has a dynamo exporter (the default from 2.9) that needs onnxscript: use the
    # TorchScript one, as torch 1.13 does.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    dummy = torch.zeros(2, job["sequenceLength"] * job["features"], dtype=torch.float32)
    torch.onnx.export(model, (dummy,), path, **kwargs)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    if job.get("watchStdin"):
        watch_parent()
    threads = int(job["threads"])
    # Deterministic cuBLAS needs this before CUDA starts (torch.use_deterministic_algorithms).
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    wanted = job["device"]
    if wanted == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch.cuda.is_available() is False")
    device = torch.device("cuda" if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()) else "cpu")
    torch.manual_seed(job["seed"])
    torch.use_deterministic_algorithms(True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    emit("ready", device=device.type, torch=torch.__version__, threads=threads)

    p = job["params"]
    width = job["sequenceLength"] * job["features"]
    x_np, y_np = read_arrow(job["train"], width)
    x = torch.from_numpy(x_np).to(device)
    y = torch.from_numpy(y_np).to(device)
    val = None
    if job.get("validation"):
        vx_np, vy_np = read_arrow(job["validation"], width)
        val = (torch.from_numpy(vx_np).to(device), torch.from_numpy(vy_np).to(device))
    rows = y.shape[0]

    model = build_model(torch, job).to(device)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=p["learningRate"], betas=(p["beta1"], p["beta2"]), eps=p["epsilon"], weight_decay=0
    )
    shuffle = torch.Generator().manual_seed(job["seed"] + 1)
    batch = min(p["batchSize"], rows)

    def val_loss():
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(val[0][i : i + 4096]) for i in range(0, val[0].shape[0], 4096)]).squeeze(1)
            loss = F.binary_cross_entropy_with_logits(logits.double(), val[1].double())
        return float(loss)

    best_loss, best_epoch, epochs, train_seconds = math.inf, 0, 0, 0.0
    best_state = None
    for epoch in range(1, p["maxEpochs"] + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(rows, generator=shuffle).to(device)
        loss_sum = 0.0
        for start in range(0, rows, batch):
            idx = order[start : start + batch]
            logits = model(x.index_select(0, idx)).squeeze(1)
            loss = F.binary_cross_entropy_with_logits(logits, y.index_select(0, idx))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss) * idx.shape[0]
        seconds = time.perf_counter() - started
        train_seconds += seconds
        epochs = epoch
        report = {"epoch": epoch, "train_loss": loss_sum / rows, "seconds": seconds}
        stop = False
        if val is not None:
            loss = val_loss()
            report["val_loss"] = loss
            if loss < best_loss:
                best_loss, best_epoch = loss, epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            elif epoch - best_epoch >= p["patience"]:
                stop = True
        else:
            best_epoch = epoch
        emit("epoch", **report)
        if stop:
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    model.cpu()
    export_onnx(torch, model, job, job["onnx"])
    emit(
        "done",
        epochs=epochs,
        best_epoch=best_epoch,
        epoch_seconds=train_seconds / max(epochs, 1),
        onnx=job["onnx"],
        device=device.type,
    )


if __name__ == "__main__":
    try:
        main()
    except BaseException as error:  # noqa: BLE001 - report everything, then fail
        if isinstance(error, SystemExit):
            raise
        emit("error", message=f"{type(error).__name__}: {error}")
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        sys.exit(2)
