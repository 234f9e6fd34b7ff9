#!/usr/bin/env python3
"""Example Cloister training job: logistic regression on the breast-cancer CSV.

Follows the SageMaker training-container contract, with Cloister's paths as
defaults:
  hyperparameters  $SM_INPUT_CONFIG_DIR/hyperparameters.json (default dir /opt/ml/input/config),
                   else env SM_HPS (JSON), else the defaults below
                   (values may be JSON numbers or strings, as SageMaker sends them)
  dataset          $SM_CHANNEL_TRAINING (default /data): the one *.csv file in it,
                   header row of feature names plus a 0/1 column named by `target`
  outputs          $SM_MODEL_DIR (default /out): model.npz, model.json, metrics.json;
                   on bad input a one-line reason in `failure` and exit status 1

Needs python3 and numpy only (no pickle anywhere), so the model files load in the
serving image too. Deterministic: seeded split and initialisation, fixed zip
timestamps, no clock in any output; two runs give byte-identical files.

Prediction: p = 1 / (1 + exp(-(((x - mean) / std) . weights + bias))), class 1 if p >= 0.5.
"""

import csv
import io
import json
import os
import sys
import zipfile

import numpy as np

# name: (type, default, check, description of the check)
HYPERPARAMETERS = {
    "epochs": (int, 300, lambda v: 1 <= v <= 1_000_000, "1..1000000"),
    "learning_rate": (float, 0.1, lambda v: 0 < v <= 100, "in (0, 100]"),
    "l2": (float, 0.001, lambda v: 0 <= v <= 100, "in [0, 100]"),
    # Default: the job spec's `seed`, which Cloister passes as CLOISTER_SEED; 42 outside Cloister.
    "seed": (int, os.environ.get("CLOISTER_SEED", "42"), lambda v: 0 <= v < 2**63, "a non-negative integer"),
    "test_fraction": (float, 0.2, lambda v: 0 < v < 1, "in (0, 1)"),
    "log_every": (int, 50, lambda v: v >= 1, ">= 1"),
    "target": (str, "target", lambda v: v != "", "a column name"),
}

MAX_CSV_BYTES = 256 * 1024 * 1024  # refuse absurd inputs instead of exhausting memory


class JobFailure(Exception):
    """Bad input: reported in the `failure` file, not as a traceback."""


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
            if kind is float and not np.isfinite(value):
                raise ValueError
        except (ValueError, TypeError):
            problems.append("%s=%r must be %s" % (name, raw.get(name), rule))
            continue
        hps[name] = value
    if problems:
        raise JobFailure("invalid hyperparameters: " + "; ".join(problems))
    return hps, source


def find_csv(channel):
    if not os.path.isdir(channel):
        raise JobFailure("dataset directory %s does not exist" % channel)
    files = sorted(f for f in os.listdir(channel) if f.endswith(".csv"))
    if len(files) != 1:
        raise JobFailure("expected exactly one .csv file in %s, found %d" % (channel, len(files)))
    return os.path.join(channel, files[0])


def load_dataset(path, target):
    size = os.path.getsize(path)
    if size > MAX_CSV_BYTES:
        raise JobFailure("%s is %d bytes, over the %d byte limit" % (path, size, MAX_CSV_BYTES))
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        raise JobFailure("%s has no data rows" % os.path.basename(path))
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise JobFailure("%s has no %r column" % (os.path.basename(path), target))
    if len(set(header)) != len(header) or "" in header:
        raise JobFailure("%s has empty or duplicate column names" % os.path.basename(path))
    data = np.empty((len(rows) - 1, len(header)), dtype=np.float64)
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise JobFailure("line %d has %d fields, header has %d" % (i, len(row), len(header)))
        try:
            data[i - 2] = [float(v) for v in row]
        except ValueError:
            raise JobFailure("line %d has a non-numeric value" % i)
    if not np.all(np.isfinite(data)):
        raise JobFailure("dataset contains NaN or infinite values")
    t = header.index(target)
    y = data[:, t]
    if not np.all((y == 0) | (y == 1)):
        raise JobFailure("column %r must hold only 0 and 1" % target)
    features = header[:t] + header[t + 1:]
    X = np.delete(data, t, axis=1)
    if X.shape[1] == 0:
        raise JobFailure("dataset has no feature columns")
    return X, y, features


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|


def log_loss(z, y):
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def train(X, y, hps, log):
    n, d = X.shape
    rng = np.random.default_rng(hps["seed"])
    w = rng.normal(0.0, 0.01, size=d)
    b = 0.0
    lr, l2, epochs = hps["learning_rate"], hps["l2"], hps["epochs"]
    for epoch in range(1, epochs + 1):
        z = X @ w + b
        err = sigmoid(z) - y
        w -= lr * (X.T @ err / n + l2 * w)
        b -= lr * float(np.mean(err))
        if epoch % hps["log_every"] == 0 or epoch == epochs:
            z = X @ w + b
            loss = log_loss(z, y) + 0.5 * l2 * float(w @ w)
            acc = float(np.mean((z >= 0) == (y == 1)))
            log("epoch %d/%d loss=%.4f train_acc=%.4f" % (epoch, epochs, loss, acc))
    return w, b


def evaluate(X, y, w, b):
    z = X @ w + b
    pred = z >= 0
    truth = y == 1
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    return {
        "accuracy": round(float(np.mean(pred == truth)), 6),
        "loss": round(log_loss(z, y), 6),
        "precision": round(tp / (tp + fp), 6) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 6) if tp + fn else 0.0,
    }


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def npz_bytes(arrays):
    """np.savez without its wall-clock zip timestamps, so equal models give equal bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
    return buf.getvalue()


def json_bytes(document):
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def main():
    out = os.environ.get("SM_MODEL_DIR", "/out")
    channel = os.environ.get("SM_CHANNEL_TRAINING", "/data")

    def log(message):
        print(message, flush=True)

    try:
        hps, source = load_hyperparameters()
        path = find_csv(channel)
        X, y, features = load_dataset(path, hps["target"])
        n = len(y)
        n_test = int(round(n * hps["test_fraction"]))
        if n_test < 1 or n - n_test < 2:
            raise JobFailure("%d rows cannot be split with test_fraction=%s" % (n, hps["test_fraction"]))
        if len(np.unique(y)) != 2:
            raise JobFailure("column %r must contain both classes" % hps["target"])
    except (JobFailure, OSError, UnicodeDecodeError, csv.Error) as failure:
        reason = str(failure).replace("\n", " ")
        if not isinstance(failure, JobFailure):
            reason = "cannot read the dataset: " + reason
        print("failure: " + reason, file=sys.stderr, flush=True)
        try:
            write_atomically(os.path.join(out, "failure"), (reason + "\n").encode("utf-8"))
        except OSError as e:
            print("cannot write failure file: %s" % e, file=sys.stderr, flush=True)
        return 1

    log("hyperparameters (%s): %s" % (source, json.dumps(hps, sort_keys=True)))
    log("dataset %s: %d rows, %d features" % (os.path.basename(path), n, X.shape[1]))

    # Fixed split from the seed: the same rows are held out on every run.
    order = np.random.default_rng(hps["seed"]).permutation(n)
    test_idx, train_idx = np.sort(order[:n_test]), np.sort(order[n_test:])
    X_train, y_train, X_test, y_test = X[train_idx], y[train_idx], X[test_idx], y[test_idx]

    # Standardise with training statistics only.
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[std == 0] = 1.0
    w, b = train((X_train - mean) / std, y_train, hps, log)

    test = evaluate((X_test - mean) / std, y_test, w, b)
    train_metrics = evaluate((X_train - mean) / std, y_train, w, b)
    metrics = dict(test)
    metrics.update({
        "train_accuracy": train_metrics["accuracy"],
        "train_loss": train_metrics["loss"],
        "n_train": int(len(train_idx)),
        "n_test": int(n_test),
        "epochs": hps["epochs"],
    })

    write_atomically(os.path.join(out, "model.npz"), npz_bytes({
        "weights": w,
        "bias": np.array(b),
        "mean": mean,
        "std": std,
        "feature_names": np.array(features, dtype=np.str_),
    }))
    write_atomically(os.path.join(out, "model.json"), json_bytes({
        "format": "cloister-example-logistic-regression/v1",
        "prediction": "p = 1 / (1 + exp(-(((x - mean) / std) . weights + bias))); class 1 if p >= 0.5",
        "target": hps["target"],
        "feature_names": features,
        "mean": mean.tolist(),
        "std": std.tolist(),
        "weights": w.tolist(),
        "bias": b,
        "hyperparameters": hps,
    }))
    write_atomically(os.path.join(out, "metrics.json"), json_bytes(metrics))
    log("test accuracy=%.4f precision=%.4f recall=%.4f loss=%.4f (n_train=%d, n_test=%d)"
        % (test["accuracy"], test["precision"], test["recall"], test["loss"], len(train_idx), n_test))
    return 0


if __name__ == "__main__":
    sys.exit(main())
