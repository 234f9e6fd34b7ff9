#!/usr/bin/env python3
"""Cloister model server: answers predictions for one sealed model.

Runs in a serving image built on cloister/serving-base:bookworm (python3 + numpy + tini),
as a non-root user on a read-only root with only /tmp as tmpfs. Python standard library
and numpy only; nothing is ever unpickled.

Model (directory $CLOISTER_MODEL_DIR, default /model), as deploy/examples/breast-cancer
writes it:
  model.npz   arrays weights (d), bias (scalar), mean (d), std (d), feature_names (d
              strings); loaded with np.load(allow_pickle=False)
  model.json  the same values as JSON; used only when model.npz is absent
  global.npz  a federation's final global weights, as deploy/examples/federated's spec
              declares them: arrays w (d), b (1), mu (d), sd (d), numbers only (the host
              aggregates numeric arrays, so there are no feature names: rows are lists of
              d numbers in the training CSV's column order). Used only when neither file
              above is present. As the federated trainer does, a zero sd counts as 1.
  model.sig   optional OMS v1.0 signature bundle. When present, the files it lists must
              hash to its subject digest (else the server refuses to start), the loaded
              model file must be one of them, and GET /healthz reports that digest. The
              signature itself is not checked here (no key in the image): the deployer
              verifies the image and the model with `cloister verify` before release.
Prediction: p = 1 / (1 + exp(-(((x - mean) / std) . weights + bias))), class 1 if p >= 0.5.

HTTP (listening on $CLOISTER_SERVING_HOST:$CLOISTER_SERVING_PORT, default 0.0.0.0:8080):
  POST /predict  {"rows": [[d numbers], ...]} or {"rows": [{"<feature name>": number, ...}]}
                 -> 200 {"predictions": [0|1, ...], "probabilities": [p, ...]}
  GET  /healthz  -> 200 {"status": "ok", "model": "sha256:<root digest>" | null}
Errors are application/problem+json {"type", "title", "status", "detail"}: 400 for bad
input (with the reason), 404, 405, 411, 413 (body over 1 MiB), 415, 503 when busy; a 500
says only "internal error" (the details go to the server's log, never to the client).
"""

import base64
import hashlib
import http.server
import json
import math
import os
import signal
import socket
import socketserver
import stat
import sys
import threading
import traceback
import zipfile
from urllib.parse import urlsplit

import numpy as np

MODEL_DIR = os.environ.get("CLOISTER_MODEL_DIR", "/model")
HOST = os.environ.get("CLOISTER_SERVING_HOST", "0.0.0.0")
PORT = os.environ.get("CLOISTER_SERVING_PORT", "8080")

MAX_BODY_BYTES = 1024 * 1024  # a larger request body is refused with 413
# A refused body up to this size is read and thrown away before the 413 goes out, so that
# a client that sends its whole body before reading (most do, unless they use Expect:
# 100-continue) sees the 413 rather than a connection reset. Larger ones: 413 and close.
MAX_DISCARD_BYTES = 8 * 1024 * 1024
MAX_ROWS = 10_000
MAX_CONNECTIONS = 64  # concurrent connections (one thread each); more get 503
SOCKET_TIMEOUT_S = 30  # a client that stops sending mid-request is dropped
MAX_REPORTED_PROBLEMS = 10

OMS_PREDICATE = "https://model_signing/signature/v1.0"
JSON_MODEL_FORMAT = "cloister-example-logistic-regression/v1"
PROBLEM = "urn:cloister:problem:serving:"


def log(message):
    print("serve: " + message, file=sys.stderr, flush=True)


class ModelError(Exception):
    """The model directory cannot be served; the server does not start."""


# --------------------------------------------------------------------------------------
# The model


class Model:
    """A logistic-regression model: standardise, dot, sigmoid."""

    def __init__(self, weights, bias, mean, std, feature_names, source):
        """feature_names None: the model has none, and rows must be lists."""
        self.weights = _vector(weights, "weights")
        d = self.weights.shape[0]
        if d == 0:
            raise ModelError("%s: weights are empty" % source)
        self.mean = _vector(mean, "mean")
        self.std = _vector(std, "std")
        b = np.asarray(bias, dtype=np.float64)
        if b.size != 1:
            raise ModelError("%s: bias must be one number" % source)
        self.bias = float(b.reshape(()))
        for label, arr in (("mean", self.mean), ("std", self.std)):
            if arr.shape != (d,):
                raise ModelError("%s: %s has %d values, weights have %d" % (source, label, arr.shape[0], d))
        names = None
        if feature_names is not None:
            names = [str(n) for n in np.asarray(feature_names).reshape(-1)]
            if len(names) != d:
                raise ModelError("%s: %d feature names for %d weights" % (source, len(names), d))
            if len(set(names)) != d or "" in names:
                raise ModelError("%s: feature names must be non-empty and unique" % source)
        values = np.concatenate([self.weights, self.mean, self.std, [self.bias]])
        if not np.all(np.isfinite(values)):
            raise ModelError("%s: NaN or infinite parameters" % source)
        if np.any(self.std == 0):
            raise ModelError("%s: std has zeros" % source)
        self.features = d
        self.feature_names = names
        self.index = {n: i for i, n in enumerate(names or [])}
        self.source = source

    def predict(self, X):
        z = ((X - self.mean) / self.std) @ self.weights + self.bias
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # the sigmoid, stable for large |z|
        return (p >= 0.5).astype(int).tolist(), p.tolist()


def _vector(value, label):
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu" or arr.ndim != 1:
        raise ModelError("%s must be a 1-D numeric array" % label)
    return arr.astype(np.float64)


def model_file(model_dir):
    """The file to load: model.npz, else model.json, else a federation's global.npz."""
    for name in ("model.npz", "model.json", "global.npz"):
        if os.path.exists(os.path.join(model_dir, name)):
            return name
    raise ModelError("none of model.npz, model.json, global.npz in %s" % model_dir)


def load_model(model_dir, name):
    npz = os.path.join(model_dir, "model.npz")
    js = os.path.join(model_dir, "model.json")
    if name == "global.npz":
        return load_federated(os.path.join(model_dir, name))
    if name == "model.npz":
        try:
            with np.load(npz, allow_pickle=False) as z:
                missing = sorted({"weights", "bias", "mean", "std", "feature_names"} - set(z.files))
                if missing:
                    raise ModelError("model.npz lacks %s" % ", ".join(missing))
                if z["feature_names"].dtype.kind != "U":
                    raise ModelError("model.npz: feature_names must be strings")
                return Model(z["weights"], z["bias"], z["mean"], z["std"], z["feature_names"], "model.npz")
        except ModelError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:  # bad zip/.npy, object arrays
            raise ModelError("cannot load model.npz: %s" % e)
    else:
        try:
            with open(js, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise ModelError("cannot load model.json: %s" % e)
        if not isinstance(doc, dict):
            raise ModelError("model.json must be a JSON object")
        if doc.get("format", JSON_MODEL_FORMAT) != JSON_MODEL_FORMAT:
            raise ModelError("model.json format %r is not %s" % (doc.get("format"), JSON_MODEL_FORMAT))
        missing = sorted({"weights", "bias", "mean", "std", "feature_names"} - set(doc))
        if missing:
            raise ModelError("model.json lacks %s" % ", ".join(missing))
        names = doc["feature_names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ModelError("model.json: feature_names must be a list of strings")
        try:
            return Model(doc["weights"], doc["bias"], doc["mean"], doc["std"], names, "model.json")
        except (TypeError, ValueError) as e:
            raise ModelError("model.json: %s" % e)


FEDERATED_ARRAYS = {"w", "b", "mu", "sd"}


def load_federated(path):
    """A federation's global weights (deploy/examples/federated): numeric arrays only."""
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            if names != FEDERATED_ARRAYS:
                raise ModelError("global.npz holds %s, expected exactly %s"
                                 % (", ".join(sorted(names)) or "nothing", ", ".join(sorted(FEDERATED_ARRAYS))))
            arrays = {k: z[k] for k in FEDERATED_ARRAYS}
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:  # bad zip/.npy, object arrays
        raise ModelError("cannot load global.npz: %s" % e)
    sd = _vector(arrays["sd"], "sd")
    return Model(arrays["w"], arrays["b"], arrays["mu"], np.where(sd > 0, sd, 1.0), None, "global.npz")


def sealed_digest(model_dir, loaded_file):
    """The OMS root digest from model.sig, checked against the files; None without one.

    Only the statement is read: its listed files must hash to the listed digests and
    those, concatenated, to the subject digest. Whoever can change the files can change
    model.sig too, so this is a consistency check; the signature is verified by the
    deployer (cloister verify), who holds the public key.
    """
    path = os.path.join(model_dir, "model.sig")
    try:
        with open(path, "rb") as f:
            raw = f.read(4 * 1024 * 1024)
    except FileNotFoundError:
        return None
    except OSError as e:
        log("model.sig is not readable (%s); serving without a model digest" % e.strerror)
        return None
    try:
        bundle = json.loads(raw)
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"], validate=True))
        if statement.get("predicateType") != OMS_PREDICATE:
            raise ValueError("predicateType is not " + OMS_PREDICATE)
        (subject,) = statement["subject"]
        subject_hex = subject["digest"]["sha256"]
        resources = statement["predicate"]["resources"]
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise ModelError("model.sig is not an OMS v1.0 signature bundle (%s)" % e)
    root = hashlib.sha256()
    names = set()
    for res in resources:
        name = res.get("name") if isinstance(res, dict) else None
        if (not isinstance(name, str) or name.startswith("/") or "\\" in name
                or any(part in ("", ".", "..") for part in name.split("/"))):
            raise ModelError("model.sig lists an unsafe path %r" % (name,))
        if res.get("algorithm") != "sha256":
            raise ModelError("model.sig: %s is not hashed with sha256" % name)
        digest = _file_sha256(os.path.join(model_dir, name))
        if digest != res.get("digest"):
            raise ModelError("%s does not match model.sig" % name)
        root.update(bytes.fromhex(digest))
        names.add(name)
    if root.hexdigest() != subject_hex:
        raise ModelError("the files' root digest is not model.sig's subject digest")
    if loaded_file not in names:
        raise ModelError("%s is not among the files model.sig covers" % loaded_file)
    return "sha256:" + subject_hex


def _file_sha256(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as e:
        raise ModelError("%s: %s" % (os.path.basename(path), e.strerror))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ModelError("%s is not a regular file" % os.path.basename(path))
        h = hashlib.sha256()
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------
# Requests


class BadRequest(Exception):
    def __init__(self, status, slug, title, detail):
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail


def _reject_constant(name):
    raise ValueError("%s is not a JSON number" % name)


def parse_rows(body, model):
    """Request body bytes -> float64 array (n, d), or BadRequest naming every problem."""
    try:
        doc = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise BadRequest(400, "bad-json", "Malformed JSON", "the body is not UTF-8")
    except RecursionError:
        raise BadRequest(400, "bad-json", "Malformed JSON", "the body is nested too deeply")
    except ValueError as e:
        raise BadRequest(400, "bad-json", "Malformed JSON", "the body is not JSON: %s" % e)
    if not isinstance(doc, dict) or "rows" not in doc:
        raise BadRequest(400, "bad-rows", "Invalid rows", 'expected a JSON object {"rows": [...]}')
    unknown = sorted(k for k in doc if k != "rows")
    if unknown:
        raise BadRequest(400, "bad-rows", "Invalid rows", "unknown field(s): %s" % ", ".join(unknown))
    rows = doc["rows"]
    if not isinstance(rows, list) or not rows:
        raise BadRequest(400, "bad-rows", "Invalid rows", '"rows" must be a non-empty list')
    if len(rows) > MAX_ROWS:
        raise BadRequest(400, "bad-rows", "Invalid rows", "%d rows, at most %d per request" % (len(rows), MAX_ROWS))

    d = model.features
    X = np.empty((len(rows), d), dtype=np.float64)
    problems = []

    def number(value, where):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append("%s: not a number" % where)
            return 0.0
        try:
            x = float(value)
        except OverflowError:
            x = math.inf
        if not math.isfinite(x):
            problems.append("%s: not a finite number" % where)
            return 0.0
        return x

    for i, row in enumerate(rows):
        if len(problems) >= MAX_REPORTED_PROBLEMS:
            break
        if isinstance(row, list):
            if len(row) != d:
                problems.append("rows[%d]: %d values, the model has %d features" % (i, len(row), d))
                continue
            X[i] = [number(v, "rows[%d][%d]" % (i, j)) for j, v in enumerate(row)]
        elif isinstance(row, dict) and model.feature_names is None:
            problems.append("rows[%d]: this model has no feature names (a federated model holds numbers only): "
                            "send a list of %d numbers in the training data's column order" % (i, d))
        elif isinstance(row, dict):
            missing = [n for n in model.feature_names if n not in row]
            extra = sorted(k for k in row if k not in model.index)
            if missing or extra:
                parts = []
                if missing:
                    parts.append("missing %s" % _name_list(missing))
                if extra:
                    parts.append("unknown %s" % _name_list(extra))
                problems.append("rows[%d]: %s" % (i, "; ".join(parts)))
                continue
            X[i] = [number(row[n], "rows[%d][%s]" % (i, json.dumps(n))) for n in model.feature_names]
        else:
            problems.append("rows[%d]: must be a list of %d numbers or an object keyed by feature name" % (i, d))
    if problems:
        more = " (and possibly more)" if len(problems) >= MAX_REPORTED_PROBLEMS else ""
        raise BadRequest(400, "bad-rows", "Invalid rows",
                         "; ".join(problems[:MAX_REPORTED_PROBLEMS]) + more)
    return X


def _name_list(names, limit=5):
    shown = ", ".join(json.dumps(n) for n in names[:limit])
    return shown + (" and %d more" % (len(names) - limit) if len(names) > limit else "")


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "cloister-serving/1"
    sys_version = ""  # do not advertise the Python version
    protocol_version = "HTTP/1.1"
    # http.server assumes HTTP/0.9 (a bare body, no status line) until it has parsed a
    # version; errors about malformed request lines then reach the client as JSON with no
    # status. Nobody speaks 0.9: answer such requests as 1.0.
    default_request_version = "HTTP/1.0"
    timeout = SOCKET_TIMEOUT_S

    ROUTES = {"/predict": "POST", "/healthz": "GET"}

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def _dispatch(self, method):
        self._body_read = False
        try:
            path = urlsplit(self.path).path
            allowed = self.ROUTES.get(path)
            if allowed is None:
                raise BadRequest(404, "not-found", "Not found", "no resource %s; try POST /predict or GET /healthz"
                                 % json.dumps(path[:200]))
            if method != allowed:
                self._allow = allowed
                raise BadRequest(405, "method-not-allowed", "Method not allowed", "%s takes %s only" % (path, allowed))
            if path == "/healthz":
                self._send_json(200, {"status": "ok", "model": self.server.model_digest})
            else:
                X = parse_rows(self._read_body(), self.server.model)
                predictions, probabilities = self.server.model.predict(X)
                self._send_json(200, {"predictions": predictions, "probabilities": probabilities})
        except BadRequest as e:
            if not self._body_read and (self.headers.get("Content-Length", "0") != "0"
                                        or self.headers.get("Transfer-Encoding")):
                # Refused before the body was read: it must not be parsed as the next
                # request on this connection.
                self.close_connection = True
            self._send_problem(e.status, e.slug, e.title, e.detail)
        except Exception:  # a bug: log it, tell the client nothing about it
            log("internal error on %s %s:\n%s" % (method, self.path[:200], traceback.format_exc()))
            self.close_connection = True
            self._send_problem(500, "internal", "Internal error", "internal error")

    def _read_body(self):
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise BadRequest(411, "length-required", "Length required",
                             "send the body with Content-Length, not Transfer-Encoding")
        ctype = self.headers.get("Content-Type")
        if ctype and ctype.split(";")[0].strip().lower() != "application/json":
            self.close_connection = True  # the body is left unread
            raise BadRequest(415, "unsupported-media-type", "Unsupported media type",
                             "Content-Type must be application/json")
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise BadRequest(411, "length-required", "Length required", "Content-Length is required")
        if not length.isdigit():
            self.close_connection = True
            raise BadRequest(400, "bad-request", "Bad request", "Content-Length is not a number")
        n = int(length)
        if n > MAX_BODY_BYTES:
            self.close_connection = True
            if n <= MAX_DISCARD_BYTES and not self._expected_100:
                self._discard(n)
            raise BadRequest(413, "too-large", "Request too large",
                             "the body is %d bytes, at most %d" % (n, MAX_BODY_BYTES))
        body = self.rfile.read(n)
        self._body_read = True
        if len(body) != n:
            self.close_connection = True
            raise BadRequest(400, "bad-request", "Bad request", "the body ended before Content-Length bytes")
        return body

    def _discard(self, n):
        try:
            while n > 0:
                chunk = self.rfile.read(min(n, 64 * 1024))
                if not chunk:
                    break
                n -= len(chunk)
        except OSError:
            pass

    _expected_100 = False
    _body_read = False

    def handle_expect_100(self):
        # Expect: 100-continue: refuse an oversized body before the client sends it.
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            self._expected_100 = True
            self.close_connection = True
            self._send_problem(413, "too-large", "Request too large",
                               "the body is %s bytes, at most %d" % (length, MAX_BODY_BYTES))
            return False
        return super().handle_expect_100()

    def _send_json(self, status, document, content_type="application/json", extra=()):
        data = (json.dumps(document, separators=(",", ":")) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in extra:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_problem(self, status, slug, title, detail):
        extra = [("Allow", self._allow)] if status == 405 else []
        self._send_json(status, {"type": PROBLEM + slug, "title": title, "status": status, "detail": detail},
                        content_type="application/problem+json", extra=extra)

    def send_error(self, code, message=None, explain=None):
        # http.server's own errors (malformed request line, unsupported method, header
        # too long): the same JSON problem format instead of its HTML page.
        self.close_connection = True
        title = self.responses.get(code, ("Error",))[0]
        self._send_problem(code, "http-%d" % code, title, message or title)

    def log_message(self, fmt, *args):
        # Request line and status only: never bodies, which may hold sensitive features.
        sys.stderr.write("serve: %s %s\n" % (self.address_string(), fmt % args))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, model, model_digest):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.model = model
        self.model_digest = model_digest
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind would look up the host's FQDN (a DNS query that can hang
        # for seconds in a container without DNS); the name is not used.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            try:
                body = json.dumps({"type": PROBLEM + "busy", "title": "Busy", "status": 503,
                                   "detail": "too many concurrent connections"}).encode()
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
                                b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        # A client that hangs up or times out is not an error of ours: one line, no
        # traceback. Anything else is a bug, logged in full (to the server's log only).
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log("%s: connection dropped (%s)" % (client_address[0], type(exc).__name__))
        else:
            log("internal error with a request from %s:\n%s" % (client_address[0], traceback.format_exc()))

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def main():
    try:
        name = model_file(MODEL_DIR)
        # The files are checked against model.sig before anything parses them.
        digest = sealed_digest(MODEL_DIR, name)
        model = load_model(MODEL_DIR, name)
    except ModelError as e:
        log("error: cannot serve %s: %s" % (MODEL_DIR, e))
        return 2
    if not PORT.isdigit() or not 0 < int(PORT) < 65536:
        log("error: CLOISTER_SERVING_PORT=%r is not a port number" % PORT)
        return 2
    port = int(PORT)
    try:
        server = Server((HOST, port), model, digest)
    except OSError as e:
        log("error: cannot listen on %s:%d: %s" % (HOST, port, e.strerror))
        return 2
    # SIGTERM (docker stop, forwarded by tini): leave serve_forever and close the socket.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log("serving %s (%d features, model %s) on %s:%d"
        % (model.source, model.features, digest or "unsealed", HOST, port))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
