#!/usr/bin/env python3
"""A federated site's trainer: numpy-only logistic regression on the breast-cancer CSV.

Cloister runs it in each site's container, once per round, with no network:
  /in/global.npz   the host's current global weights (read-only): w (30,), b (1,), mu (30,), sd (30,)
  /data/*.csv      the site's own data (one CSV, 0/1 column `target`); never leaves the container
  /out/update.npz  the site's new local weights, same arrays and shapes (written with numpy's own np.savez)
  /out/metrics.json {"examples": N, "metrics": {...}, "interfaces": [the network interfaces this container sees]}

FEDERATION_MODE (set by the host):
  round     (default) start from /in/global.npz, train `epochs` local epochs of gradient descent, write the update
  solo      the same trainer on this site's data alone, from /in/global.npz (zeros), for epochs x FEDERATION_ROUNDS
  evaluate  no training: load every /in/*.npz model and report its accuracy on /data as metrics
            "accuracy.global", "accuracy.solo-<site>" (the held-out evaluation; writes no update)

Features are standardised with mu/sd from the global model; while those are still zero (round 1) the site uses its
own mean and deviation and sends them back, so the first aggregation gives the federation's feature statistics.

FAULT (a site's env, for tests of the host's checks): nan | shape | oversize | sleep | none.
"""

import csv
import json
import os
import sys
import time

import numpy as np

HPS_FILE = os.path.join(os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"), "hyperparameters.json")
DEFAULTS = {"epochs": 25, "learning_rate": 0.5, "l2": 0.001, "target": "target"}


def fail(reason):
    os.makedirs("/out", exist_ok=True)
    with open("/out/failure", "w", encoding="utf-8") as f:
        f.write(reason + "\n")
    print("failure: " + reason, file=sys.stderr)
    sys.exit(1)


def hyperparameters():
    hps = dict(DEFAULTS)
    if os.path.exists(HPS_FILE):
        with open(HPS_FILE, encoding="utf-8") as f:
            raw = json.load(f)
        for k, v in raw.items():
            if k not in DEFAULTS:
                fail("unknown hyperparameter %r (known: %s)" % (k, ", ".join(sorted(DEFAULTS))))
            hps[k] = type(DEFAULTS[k])(v)
    return hps


def load_csv(directory, target):
    files = sorted(f for f in os.listdir(directory) if f.endswith(".csv"))
    if len(files) != 1:
        fail("expected exactly one .csv in %s, found %d" % (directory, len(files)))
    with open(os.path.join(directory, files[0]), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    if target not in header:
        fail("no %r column" % target)
    data = np.array(rows[1:], dtype=np.float64)
    t = header.index(target)
    y = data[:, t]
    x = np.delete(data, t, axis=1)
    return x, y


def load_model(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: np.array(z[k], dtype=np.float64) for k in z.files}


def predict(model, x):
    z = (x - model["mu"]) / np.where(model["sd"] > 0, model["sd"], 1.0)
    return 1.0 / (1.0 + np.exp(-(z @ model["w"] + model["b"][0])))


def train(model, x, y, epochs, lr, l2):
    if np.all(model["sd"] == 0):
        model["mu"] = x.mean(axis=0)
        sd = x.std(axis=0)
        model["sd"] = np.where(sd > 0, sd, 1.0)
    z = (x - model["mu"]) / model["sd"]
    w, b = model["w"].copy(), model["b"].copy()
    n = len(y)
    for _ in range(epochs):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b[0])))
        g = p - y
        w -= lr * (z.T @ g / n + l2 * w)
        b -= lr * np.array([g.mean()])
    model["w"], model["b"] = w, b
    p = 1.0 / (1.0 + np.exp(-(z @ w + b[0])))
    eps = 1e-12
    loss = float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
    acc = float(np.mean((p >= 0.5) == (y == 1)))
    return loss, acc


def interfaces():
    try:
        return sorted(os.listdir("/sys/class/net"))
    except OSError as e:
        return ["(cannot list /sys/class/net: %s)" % e.strerror]


def write_metrics(examples, metrics):
    with open("/out/metrics.json", "w", encoding="utf-8") as f:
        json.dump({"examples": int(examples), "metrics": metrics, "interfaces": interfaces()}, f, sort_keys=True)


def main():
    hps = hyperparameters()
    mode = os.environ.get("FEDERATION_MODE", "round")
    fault = os.environ.get("FAULT", "none")
    x, y = load_csv("/data", hps["target"])
    print("mode %s, round %s, %d rows, %d features, interfaces %s" % (
        mode, os.environ.get("FEDERATION_ROUND", "-"), len(y), x.shape[1], interfaces()))

    if mode == "evaluate":
        metrics = {}
        for name in sorted(os.listdir("/in")):
            if name.endswith(".npz"):
                model = load_model(os.path.join("/in", name))
                acc = float(np.mean((predict(model, x) >= 0.5) == (y == 1)))
                metrics["accuracy." + name[:-4]] = acc
                print("held-out accuracy of %s: %.4f (%d examples)" % (name, acc, len(y)))
        write_metrics(len(y), metrics)
        return

    model = load_model("/in/global.npz")
    epochs = hps["epochs"] * (int(os.environ.get("FEDERATION_ROUNDS", "1")) if mode == "solo" else 1)
    loss, acc = train(model, x, y, epochs, hps["learning_rate"], hps["l2"])
    print("trained %d epoch(s): loss %.4f, train accuracy %.4f" % (epochs, loss, acc))

    if fault == "sleep":
        print("FAULT=sleep: sleeping past the round deadline", flush=True)
        time.sleep(3600)
    if fault == "nan":
        model["w"][0] = np.nan
    if fault == "shape":
        model["w"] = np.zeros(model["w"].shape[0] + 1)
    if fault == "oversize":
        model["padding"] = np.random.default_rng(1).random(256 * 1024)  # 2 MiB of float64
    np.savez("/out/update.npz", **model)
    write_metrics(len(y), {"loss": loss, "train_accuracy": acc})


if __name__ == "__main__":
    main()
