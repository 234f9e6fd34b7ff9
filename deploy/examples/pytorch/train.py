#!/usr/bin/env python3
"""Example Cloister training job: a small PyTorch MLP on the breast-cancer CSV, fed by a DataLoader with worker
processes.

Its point is the sandbox as much as the model: the workers are forked processes that send every batch back to the
trainer as tensors in shared memory (/dev/shm, file descriptors passed over AF_UNIX sockets), with multiprocessing
queues, semaphores and threads around them. The job checks that the batches really came from that many distinct
worker processes, and fails otherwise, so a run that ends well proves those paths work under the policy's seccomp
profile, pids cap, read-only root and scratch sizes.

Follows the SageMaker training-container contract, with Cloister's paths as defaults:
  hyperparameters  $SM_INPUT_CONFIG_DIR/hyperparameters.json (default dir /opt/ml/input/config),
                   else env SM_HPS (JSON), else the defaults below (numbers may come as strings)
  dataset          $SM_CHANNEL_TRAINING (default /data): the one *.csv file in it, header row of feature names
                   plus a 0/1 column named by `target`
  outputs          $SM_MODEL_DIR (default /out): model.pt (torch.save of the state_dict, standardisation
                   included as buffers), metrics.json; on bad input a one-line reason in `failure` and exit 1
  threads          torch.set_num_threads($OMP_NUM_THREADS) when set (Cloister sets it to the job's whole CPUs)

Load the model with: m = Net(n_features, hidden); m.load_state_dict(torch.load("model.pt", weights_only=True));
the probability of class 1 is m(x).sigmoid().
"""

import csv
import json
import os
import sys
import time

import torch
import torch.multiprocessing
from torch import nn
from torch.utils.data import DataLoader, Dataset, get_worker_info

# name: (type, default, check, description of the check)
HYPERPARAMETERS = {
    "epochs": (int, 20, lambda v: 1 <= v <= 10_000, "1..10000"),
    "batch_size": (int, 32, lambda v: 1 <= v <= 4096, "1..4096"),
    "learning_rate": (float, 0.01, lambda v: 0 < v <= 10, "in (0, 10]"),
    "weight_decay": (float, 0.0001, lambda v: 0 <= v <= 1, "in [0, 1]"),
    "hidden": (int, 16, lambda v: 1 <= v <= 1024, "1..1024"),
    "num_workers": (int, 2, lambda v: 1 <= v <= 16, "1..16 (this example exists to run workers)"),
    "seed": (int, 42, lambda v: 0 <= v < 2**63, "a non-negative integer"),
    "test_fraction": (float, 0.2, lambda v: 0 < v < 1, "in (0, 1)"),
    "target": (str, "target", lambda v: v != "", "a column name"),
}

MAX_CSV_BYTES = 256 * 1024 * 1024  # refuse absurd inputs instead of exhausting memory


class JobFailure(Exception):
    """Bad input, or workers that did not run: reported in the `failure` file, not as a traceback."""


def load_hyperparameters():
    path = os.path.join(os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"), "hyperparameters.json")
    if os.path.exists(path):
        source = path
        try:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
        except (OSError, ValueError) as e:
            raise JobFailure("cannot read %s: %s" % (path, e))
    elif os.environ.get("SM_HPS"):
        source = "SM_HPS"
        try:
            raw = json.loads(os.environ["SM_HPS"])
        except ValueError as e:
            raise JobFailure("SM_HPS is not JSON: %s" % e)
    else:
        source, raw = "defaults", {}
    if not isinstance(raw, dict):
        raise JobFailure("hyperparameters from %s must be a JSON object" % source)

    hps, problems = {}, []
    unknown = sorted(k for k in raw if k not in HYPERPARAMETERS and not k.startswith("sagemaker_"))
    if unknown:
        problems.append("unknown %s (known: %s)" % (", ".join(unknown), ", ".join(sorted(HYPERPARAMETERS))))
    for name, (kind, default, ok, rule) in HYPERPARAMETERS.items():
        value = raw.get(name, default)
        try:
            if kind is int and isinstance(value, str):
                value = int(value.strip())
            elif kind is int and isinstance(value, float) and value.is_integer():
                value = int(value)
            elif kind is float and isinstance(value, (str, int)) and not isinstance(value, bool):
                value = float(value)
            if isinstance(value, bool) or not isinstance(value, kind) or not ok(value):
                raise ValueError
            if kind is float and value != value:  # NaN
                raise ValueError
        except (ValueError, TypeError):
            problems.append("%s=%r must be %s" % (name, raw.get(name), rule))
            continue
        hps[name] = value
    if problems:
        raise JobFailure("invalid hyperparameters: " + "; ".join(problems))
    return hps, source


def load_dataset(channel, target):
    """The one CSV in the channel as (file name, features float32 [n, d], labels float32 [n], feature names)."""
    if not os.path.isdir(channel):
        raise JobFailure("dataset directory %s does not exist" % channel)
    files = sorted(f for f in os.listdir(channel) if f.endswith(".csv"))
    if len(files) != 1:
        raise JobFailure("expected exactly one .csv file in %s, found %d" % (channel, len(files)))
    path = os.path.join(channel, files[0])
    if os.path.getsize(path) > MAX_CSV_BYTES:
        raise JobFailure("%s is over the %d byte limit" % (files[0], MAX_CSV_BYTES))
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        raise JobFailure("%s has no data rows" % files[0])
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise JobFailure("%s has no %r column" % (files[0], target))
    if len(set(header)) != len(header) or "" in header:
        raise JobFailure("%s has empty or duplicate column names" % files[0])
    values = []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise JobFailure("line %d has %d fields, header has %d" % (i, len(row), len(header)))
        try:
            values.append([float(v) for v in row])
        except ValueError:
            raise JobFailure("line %d has a non-numeric value" % i)
    data = torch.tensor(values, dtype=torch.float64)
    if not torch.isfinite(data).all():
        raise JobFailure("dataset contains NaN or infinite values")
    t = header.index(target)
    y = data[:, t]
    if not ((y == 0) | (y == 1)).all() or len(torch.unique(y)) != 2:
        raise JobFailure("column %r must hold both classes, 0 and 1, and nothing else" % target)
    keep = [i for i in range(len(header)) if i != t]
    if not keep:
        raise JobFailure("dataset has no feature columns")
    return files[0], data[:, keep].float(), y.float(), [header[i] for i in keep]


class Rows(Dataset):
    """Map-style dataset over rows; each item also says which worker process produced it."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        info = get_worker_info()  # None in the main process: the check below would then fail the job
        return self.X[i], self.y[i], -1 if info is None else info.id, os.getpid()


class Net(nn.Module):
    """Standardise with the training split's statistics (buffers, so they travel in the state_dict), then an MLP."""

    def __init__(self, n_features, hidden):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.layers = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.layers((x - self.mean) / self.std).squeeze(-1)


def evaluate(model, X, y):
    with torch.no_grad():
        z = model(X)
        loss = float(nn.functional.binary_cross_entropy_with_logits(z, y))
    pred, truth = z >= 0, y == 1
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    return {
        "accuracy": round(float((pred == truth).float().mean()), 6),
        "loss": round(loss, 6),
        "precision": round(tp / (tp + fp), 6) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 6) if tp + fn else 0.0,
    }


def write_atomically(path, write):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def sandbox():
    """What the kernel says about this process's confinement (Seccomp 2 = a filter is in force)."""
    wanted = ("Seccomp", "NoNewPrivs", "CapEff")
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if line.split(":", 1)[0] in wanted)
        shm = os.statvfs("/dev/shm")
    except OSError as e:
        return "cannot read /proc/self/status or /dev/shm: %s" % e
    return "uid=%d %s, /dev/shm %d MiB" % (os.getuid(), " ".join("%s=%s" % (k, fields.get(k, "?")) for k in wanted),
                                          shm.f_blocks * shm.f_frsize // (1 << 20))


def log(message):
    print(message, flush=True)


def train(hps, X, y, out):
    n = len(y)
    n_test = int(round(n * hps["test_fraction"]))
    if n_test < 1 or n - n_test < 2:
        raise JobFailure("%d rows cannot be split with test_fraction=%s" % (n, hps["test_fraction"]))
    torch.manual_seed(hps["seed"])
    order = torch.randperm(n, generator=torch.Generator().manual_seed(hps["seed"]))
    test_idx, train_idx = order[:n_test].sort().values, order[n_test:].sort().values
    X_train, y_train, X_test, y_test = X[train_idx], y[train_idx], X[test_idx], y[test_idx]

    model = Net(X.shape[1], hps["hidden"])
    model.mean.copy_(X_train.mean(dim=0))
    std = X_train.std(dim=0, unbiased=False)
    model.std.copy_(torch.where(std == 0, torch.ones_like(std), std))
    optimiser = torch.optim.Adam(model.parameters(), lr=hps["learning_rate"], weight_decay=hps["weight_decay"])

    # The workers under test: forked once (persistent), each batch sent back through shared memory.
    loader = DataLoader(Rows(X_train, y_train), batch_size=hps["batch_size"], shuffle=True,
                        num_workers=hps["num_workers"], persistent_workers=True,
                        generator=torch.Generator().manual_seed(hps["seed"]))
    workers = {}  # worker id -> pid
    started = time.monotonic()
    for epoch in range(1, hps["epochs"] + 1):
        model.train()
        total, batches, epoch_start = 0.0, 0, time.monotonic()
        for xb, yb, worker_ids, pids in loader:
            for worker_id, pid in zip(worker_ids.tolist(), pids.tolist()):
                workers.setdefault(worker_id, pid)
            optimiser.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(model(xb), yb)
            loss.backward()
            optimiser.step()
            total += float(loss) * len(yb)
            batches += 1
        model.eval()
        acc = evaluate(model, X_train, y_train)["accuracy"]
        log("epoch %d/%d loss=%.4f train_acc=%.4f batches=%d workers=%s (%.2f s)" % (
            epoch, hps["epochs"], total / len(y_train), acc, batches, sorted(workers), time.monotonic() - epoch_start))
    seconds = time.monotonic() - started
    del loader  # stops the persistent workers

    log("dataloader workers: %d distinct processes (worker ids %s, pids %s, trainer pid %d)" % (
        len(workers), sorted(workers), [workers[w] for w in sorted(workers)], os.getpid()))
    if -1 in workers or len(set(workers.values())) < hps["num_workers"] or os.getpid() in workers.values():
        raise JobFailure("expected batches from %d DataLoader worker processes, saw %s"
                         % (hps["num_workers"], {w: p for w, p in sorted(workers.items())}))

    test = evaluate(model, X_test, y_test)
    train_metrics = evaluate(model, X_train, y_train)
    metrics = dict(test)
    metrics.update({
        "train_accuracy": train_metrics["accuracy"],
        "train_loss": train_metrics["loss"],
        "n_train": len(train_idx),
        "n_test": n_test,
        "epochs": hps["epochs"],
        "dataloader_workers": len(workers),
        "train_seconds": round(seconds, 3),
        "torch": torch.__version__,
    })
    write_atomically(os.path.join(out, "model.pt"), lambda f: torch.save(model.state_dict(), f))
    write_atomically(os.path.join(out, "metrics.json"),
                     lambda f: f.write((json.dumps(metrics, indent=2, sort_keys=True) + "\n").encode("utf-8")))
    log("test accuracy=%.4f precision=%.4f recall=%.4f loss=%.4f (n_train=%d, n_test=%d), trained in %.1f s" % (
        test["accuracy"], test["precision"], test["recall"], test["loss"], len(train_idx), n_test, seconds))


def main():
    out = os.environ.get("SM_MODEL_DIR", "/out")
    channel = os.environ.get("SM_CHANNEL_TRAINING", "/data")
    try:
        hps, source = load_hyperparameters()
        threads = os.environ.get("OMP_NUM_THREADS", "")
        if threads.isdigit() and int(threads) > 0:
            torch.set_num_threads(int(threads))
        log("torch %s, %d thread(s), start method %s, sharing strategy %s" % (
            torch.__version__, torch.get_num_threads(), torch.multiprocessing.get_start_method(),
            torch.multiprocessing.get_sharing_strategy()))
        log("sandbox: " + sandbox())
        log("hyperparameters (%s): %s" % (source, json.dumps(hps, sort_keys=True)))
        name, X, y, features = load_dataset(channel, hps["target"])
        log("dataset %s: %d rows, %d features" % (name, len(y), len(features)))
        train(hps, X, y, out)
    except (JobFailure, OSError, UnicodeDecodeError, csv.Error) as failure:
        reason = str(failure).replace("\n", " ")
        if not isinstance(failure, JobFailure):
            reason = "%s: %s" % (type(failure).__name__, reason)
        print("failure: " + reason, file=sys.stderr, flush=True)
        try:
            write_atomically(os.path.join(out, "failure"), lambda f: f.write((reason + "\n").encode("utf-8")))
        except OSError as e:
            print("cannot write failure file: %s" % e, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
