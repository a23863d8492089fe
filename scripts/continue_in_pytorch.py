"""Continue an `rnnlab train` run in PyTorch, alone or across processes, or export it to ONNX.

    python scripts/continue_in_pytorch.py RUN [--cell lstm] --epochs 8 [--data FILE]
    torchrun --nproc_per_node 2 scripts/continue_in_pytorch.py RUN --epochs 8      # DistributedDataParallel (gloo)
    python scripts/continue_in_pytorch.py RUN --onnx model.onnx                  # export (and check with onnxruntime)

--epochs is the run's total, as in rnnlab: a run saved at epoch 5 with --epochs 8 trains epochs 6, 7 and 8 (none
without --epochs, or with a total it already has). --data reads the data from another place (a run folder moved
without them); its SHA-256 must be the one the run recorded. A CSV series is read as rnnlab reads it: its
--delimiter, and its missing values (empty, NA, N/A, NaN, null) refused, skipped or interpolated as --missing says.

RUN is a folder written by `rnnlab train`: config.json (the settings), preprocessing.json (normalisation,
characters, words, classes) and real/train/<cell>/epoch_NNN.safetensors (PyTorch's parameter names). The data are
rebuilt here exactly as rnnlab builds them (same windows, same normalisation, same split), the model is the same
torch.nn module rnnlab's names describe (embedding, rnn, fc), the weights are the last checkpoint, and Adam's
moments continue from the optimizer checkpoint when there is one. The continued epochs are written back into the
run in rnnlab's layout (real/train/<cell>/epoch_NNN.safetensors, the optimizer state under rnnlab's / torch's names
in epoch_NNN.optimizer.safetensors with the step and the history, each file recorded with its size and SHA-256 in
checkpoints.json), so `rnnlab evaluate / predict / export / generate --epoch N` read them and `rnnlab train`
continues from them.

Needs torch and numpy (onnx and onnxruntime for --onnx). IndRNN and the reset-before GRU have no torch module.
"""
import argparse, csv, hashlib, json, os, re, struct, time

import numpy as np
import torch
import torch.nn as nn


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64}
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(body[a:b], dtype=dtypes[h["dtype"]]).reshape(h["shape"]).copy())
    return out, meta


def write_safetensors(path, tensors, meta):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name in tensors:
        a = tensors[name].detach().cpu().contiguous().numpy().astype(np.float32)
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)
    os.replace(tmp, path)


OPTIMIZER_SLOTS = ("exp_avg", "exp_avg_sq", "square_avg", "momentum_buffer", "sum")


def write_back(ckdir, epoch, model, opt, step, history, weights_meta, optimizer_meta):
    """Epoch `epoch` into rnnlab's checkpoint folder: weights, optimizer state and history, recorded in the ledger."""
    names = {p: name for name, p in model.named_parameters()}
    state = {f"{slot}.{names[p]}": v for p, st in opt.state.items() for slot, v in st.items()
             if slot in OPTIMIZER_SLOTS and torch.is_tensor(v)}
    files = {
        f"epoch_{epoch:03d}.safetensors": (model.state_dict(), dict(weights_meta, epoch=str(epoch))),
        f"epoch_{epoch:03d}.optimizer.safetensors": (state, dict(optimizer_meta, step=str(step), history=json.dumps(history))),
    }
    ledger_path = os.path.join(ckdir, "checkpoints.json")
    ledger = json.load(open(ledger_path))
    for name, (tensors, meta) in files.items():
        path = os.path.join(ckdir, name)
        write_safetensors(path, tensors, meta)
        data = open(path, "rb").read()
        ledger["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    tmp = ledger_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ledger, f, indent=2, sort_keys=True)
    os.replace(tmp, ledger_path)


def locate(run, config, key, override=None):
    """A data file of the run: `override` (--data), else at its recorded path, else at its recorded place relative to
    the run folder."""
    if override:
        if not os.path.exists(override):
            raise SystemExit(f"--data {override}: no such file")
        return override
    candidates = [config[key]] + ([os.path.join(run, config[key + "FromRun"])] if config.get(key + "FromRun") else [])
    for path in candidates:
        if os.path.exists(path):
            return path
    raise SystemExit(f"{run}/config.json: its {key} file is at none of {' or '.join(candidates)}")


MISSING = {"", "na", "n/a", "nan", "null"}  # rnnlab's missing marks, as pandas' default NA strings (lower-cased)
DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def read_series(path, column, delimiter, missing):
    """The column's values as rnnlab's CSV reader gives them: decimal numbers (spaces around allowed); missing cells
    refused (`error`), left out (`skip`) or filled linearly between their known neighbours, the edges with the
    nearest known value (`interpolate`)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    cells = []
    for i, r in enumerate(rows):
        text = (r.get(column) or "").strip()
        if text.lower() in MISSING:
            if missing == "error":
                raise SystemExit(f"{path}: row {i + 2}, column '{column}' has no value; the run used --missing error")
            cells.append(None)
        elif DECIMAL.fullmatch(text):
            cells.append(float(text))
        else:
            raise SystemExit(f"{path}: row {i + 2}, column '{column}': '{text}' is not a number")
    known = [(i, v) for i, v in enumerate(cells) if v is not None]
    if missing == "skip" or len(known) == len(cells):
        return [v for _, v in known]
    out, k = [], 0
    for i, v in enumerate(cells):
        if v is not None:
            out.append(v); continue
        while k + 1 < len(known) and known[k + 1][0] < i:
            k += 1
        before = known[k] if known[k][0] < i else None
        after = known[k] if known[k][0] > i else (known[k + 1] if k + 1 < len(known) else None)
        if before and after:
            out.append(before[1] + (after[1] - before[1]) * (i - before[0]) / (after[0] - before[0]))
        else:
            out.append((before or after)[1])
    return out


def tokenize(text, tokens):
    """rnnlab's tokens: lower-cased words of letters, digits and ', or every character (a Swift Character: a
    grapheme cluster, as the `regex` module's \\X reads one; without it, code points, which differ only where a
    character such as an emoji with a skin tone is several of them)."""
    if tokens == "words":
        return re.findall(r"[\w']+", text.lower().replace("_", " "))
    try:
        import regex
        return regex.findall(r"\X", text)
    except ImportError:  # code points, CRLF kept as one as Swift keeps it
        return re.findall(r"\r\n|.", text, re.S)


def check_same_data(path, prep):
    """The file's SHA-256 must be one the run recorded (the data moved, not changed)."""
    recorded = set((prep.get("sha256") or {}).values())
    if not recorded:
        return
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if digest not in recorded:
        raise SystemExit(f"{path}: SHA-256 {digest[:12]}... is not the one the run recorded; it is other data")


def load_data(run, config, prep, data=None):
    """Training and validation tensors, as rnnlab builds them for this config (the data from `data` when given)."""
    config = dict(config, data=locate(run, config, "data", data),
                  **({"labels": locate(run, config, "labels")} if config.get("labels") else {}))
    if data:
        check_same_data(config["data"], prep)
    kind, window, frac = config["kind"], config["window"], config["validationFraction"]
    if kind == "csv":
        values = np.array(read_series(config["data"], config["column"], config.get("delimiter") or ",",
                                      config.get("missing") or "error"))
        split = int(len(values) * (1 - frac))
        z = (values - prep["mean"]) / prep["std"]
        h = config.get("horizon", 1)
        def windows(lo, hi):
            xs = [z[s:s + window] for s in range(lo, hi - window - h + 1)]
            ys = [z[s + window + h - 1] for s in range(lo, hi - window - h + 1)]
            return torch.tensor(np.array(xs), dtype=torch.float32).unsqueeze(-1), torch.tensor(ys, dtype=torch.float32).unsqueeze(-1)
        return windows(0, split), windows(max(0, split - window - h + 1), len(values))
    if kind == "text":
        text = open(config["data"], encoding="utf-8").read()
        index = {c: i for i, c in enumerate(prep["characters"])}
        ids = [index[c] for c in text]
        split = int(len(ids) * (1 - frac))
        stride = max(1, window // 2)
        def windows(part):
            xs, ys, s = [], [], 0
            while s + window + 1 <= len(part):
                xs.append(part[s:s + window]); ys.append(part[s + 1:s + window + 1]); s += stride
            return torch.tensor(xs), torch.tensor(ys)
        return windows(ids[:split]), windows(ids[split:])
    order, held = prep["order"], prep["heldOut"]
    val_idx, train_idx = order[:held], order[held:]
    if kind == "labelled-csv":
        with open(config["data"], newline="") as f:
            rows = list(csv.DictReader(f, delimiter=config.get("delimiter") or ","))
        classes = {c: i for i, c in enumerate(prep["classes"])}
        index = {w: i for i, w in enumerate(prep["words"])}
        def encode(text):  # rnnlab's Vocabulary: its tokens, the last `window`, padded in front
            ids = [index.get(w, 1) for w in tokenize(text, prep.get("tokens") or "words")][-window:]
            return [0] * (window - len(ids)) + ids
        x = torch.tensor([encode(r[config["textColumn"]]) for r in rows])
        y = torch.tensor([classes[r[config["labelColumn"]]] for r in rows])
        return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])
    if kind == "idx":
        def idx_file(path):
            import gzip
            raw = open(path, "rb").read()
            if raw[:2] == b"\x1f\x8b": raw = gzip.decompress(raw)
            dims = raw[3]
            shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
            return np.frombuffer(raw[4 + 4 * dims:], dtype=np.uint8).reshape(shape)
        x = torch.tensor(idx_file(config["data"]).astype(np.float32) / 255)
        y = torch.tensor(idx_file(config["labels"]).astype(np.int64))
        return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])
    raise SystemExit(f"continue_in_pytorch: unknown data kind {kind}")


class Model(nn.Module):
    """The module whose state-dict names rnnlab's checkpoints use: embedding (optional), rnn, fc."""
    def __init__(self, config, prep, cell):
        super().__init__()
        text = config["kind"] == "text"
        self.every_step = text
        vocab = len(prep["characters"]) if text else len(prep["words"]) if config["kind"] == "labelled-csv" else None
        if vocab: self.embedding = nn.Embedding(vocab, config["embedding"])
        inp = config["embedding"] if vocab else prep["inputSize"]
        kw = dict(num_layers=config["layers"], batch_first=True)
        if cell == "rnn": self.rnn = nn.RNN(inp, config["hidden"], nonlinearity=config["nonlinearity"], **kw)
        elif cell == "lstm": self.rnn = nn.LSTM(inp, config["hidden"], **kw)
        elif cell == "gru" and config["gruVariant"] == "reset_after": self.rnn = nn.GRU(inp, config["hidden"], **kw)
        else: raise SystemExit(f"continue_in_pytorch: {cell} ({config['gruVariant']}) has no torch module")
        self.fc = nn.Linear(config["hidden"], prep["outputs"])

    def forward(self, x):
        if hasattr(self, "embedding"): x = self.embedding(x)
        out, _ = self.rnn(x)
        return self.fc(out if self.every_step else out[:, -1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run"); ap.add_argument("--cell")
    ap.add_argument("--epochs", type=int, help="the run's total epochs to train to, as in rnnlab (default: none)")
    ap.add_argument("--data", help="the run's data file at another place (its SHA-256 must match the run's)")
    ap.add_argument("--onnx", help="export the model to this ONNX file (standard RNN/LSTM/GRU operators)")
    a = ap.parse_args()
    config = json.load(open(os.path.join(a.run, "config.json")))
    prep = json.load(open(os.path.join(a.run, "preprocessing.json")))
    cell = a.cell or config["cells"][0]
    ckdir = os.path.join(a.run, "real", "train", cell)
    epochs = sorted(int(m.group(1)) for f in os.listdir(ckdir) if (m := re.fullmatch(r"epoch_(\d+)\.safetensors", f)))
    last = epochs[-1]
    weights, weights_meta = read_safetensors(os.path.join(ckdir, f"epoch_{last:03d}.safetensors"))

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        torch.distributed.init_process_group("gloo")
    rank = torch.distributed.get_rank() if distributed else 0
    torch.manual_seed(config["seed"])
    model = Model(config, prep, cell)
    model.load_state_dict({k: v.float() for k, v in weights.items()})

    (xtr, ytr), (xva, yva) = load_data(a.run, config, prep, a.data)
    classify = config["kind"] != "csv"
    loss_fn = nn.CrossEntropyLoss() if classify else nn.MSELoss()
    def loss_of(m, x, y):
        out = m(x)
        return loss_fn(out.reshape(-1, out.shape[-1]), y.reshape(-1)) if classify else loss_fn(out, y)

    lr = config["learningRate"]
    opt = {"adam": lambda p: torch.optim.Adam(p, lr=lr), "sgd": lambda p: torch.optim.SGD(p, lr=lr),
           "rmsprop": lambda p: torch.optim.RMSprop(p, lr=lr), "adagrad": lambda p: torch.optim.Adagrad(p, lr=lr)}[config["optimizer"]](model.parameters())
    opt_path = os.path.join(ckdir, f"epoch_{last:03d}.optimizer.safetensors")
    moments, optimizer_meta = read_safetensors(opt_path) if os.path.exists(opt_path) else ({}, {})
    step = int(optimizer_meta.get("step", "0"))
    history = json.loads(optimizer_meta.get("history", "[]"))
    for name, p in model.named_parameters():
        for slot in OPTIMIZER_SLOTS:
            if f"{slot}.{name}" in moments:
                opt.state[p][slot] = moments[f"{slot}.{name}"].float().reshape(p.shape)
                if config["optimizer"] in ("adam", "adagrad"):
                    opt.state[p]["step"] = torch.tensor(float(step))

    if rank == 0:
        with torch.no_grad():
            print(json.dumps({"epoch": last, "validation_loss_as_loaded": loss_of(model, xva, yva).item()}))
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    if a.epochs is not None and a.epochs <= last and rank == 0:
        print(json.dumps({"note": f"the run has {last} epochs already; --epochs {a.epochs} trains none"}))
    for epoch in range(last + 1, (a.epochs or 0) + 1):
        sampler = torch.utils.data.distributed.DistributedSampler(range(len(xtr)), shuffle=True, seed=config["seed"]) if distributed else None
        if sampler: sampler.set_epoch(epoch)
        order = list(sampler) if sampler else torch.randperm(len(xtr), generator=torch.Generator().manual_seed(config["seed"] + epoch)).tolist()
        total, count, norms, started = 0.0, 0, [], time.time()
        for s in range(0, len(order), config["batch"]):
            idx = order[s:s + config["batch"]]
            opt.zero_grad()
            loss = loss_of(net, xtr[idx], ytr[idx])
            loss.backward()
            norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), config.get("clip") or float("inf")).item())
            opt.step()
            step += 1
            total += loss.item() * len(idx); count += len(idx)
        if distributed:  # every rank's share of the epoch: the printed loss is over all samples, not rank 0's
            sums = torch.tensor([total, float(count)], dtype=torch.float64)
            torch.distributed.all_reduce(sums)
            total, count = sums[0].item(), int(sums[1].item())
        with torch.no_grad():
            val = loss_of(model, xva, yva).item()
        if rank == 0:
            print(json.dumps({"epoch": epoch, "train_loss": total / count, "train_samples": count, "validation_loss": val, "processes": int(os.environ.get("WORLD_SIZE", "1"))}))
            history.append({"epoch": epoch, "trainLoss": total / count, "validationLoss": val,
                            "seconds": time.time() - started, "meanGradientNorm": sum(norms) / len(norms),
                            "maxGradientNorm": max(norms), "parameterGradientNorms": {},
                            "trainedBy": "PyTorch " + torch.__version__})
            write_back(ckdir, epoch, model, opt, step, history, weights_meta, optimizer_meta)

    if a.onnx and rank == 0:
        model.eval()
        sample = xva[:8]
        dynamic = {"input": {0: "batch", 1: "steps"}, "output": {0: "batch"}}
        torch.onnx.export(model, (sample,), a.onnx, input_names=["input"], output_names=["output"],
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)
        import onnx
        ops = sorted({n.op_type for n in onnx.load(a.onnx).graph.node})
        try:
            import onnxruntime as ort
        except ImportError:
            print(json.dumps({"onnx": a.onnx, "operators": ops, "onnxruntime": None}))
        else:
            got = ort.InferenceSession(a.onnx).run(None, {"input": sample.numpy()})[0]
            with torch.no_grad():
                want = model(sample).numpy()
            print(json.dumps({"onnx": a.onnx, "operators": ops, "onnxruntime": ort.__version__,
                              "max_abs_difference_vs_torch": float(np.abs(got - want).max()),
                              "outputs": got.reshape(len(sample), -1).tolist()}))
    if distributed:
        # Leave together: rank 0 may still be writing the checkpoint when rank 1 is done, and a process group torn
        # down on one side while the other (and DDP's reducer, holding it) is alive aborted rank 1 in gloo now and then.
        del net
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
