#!/bin/sh
# Test the model server and the serving seccomp profile on the real engine, with the locks
# a serving container gets.
#
# Usage: deploy/serving/check.sh [MODEL_DIR [IMAGE [PROFILE]]]
#   MODEL_DIR  a sealed model directory (model.npz or model.json, optionally model.sig);
#              default: the newest one under $CLOISTER_DATA_DIR/artifacts with a model.sig
#   IMAGE      default: cloister/serving-base:bookworm
#   PROFILE    default: <repo>/seccomp-profiles/serving.json
#   PORT=18081 host port, published on 127.0.0.1 only
#   CONTROL=0  skip the informational control run of the socket probe under docker-default.json
#   DOCKER     docker client to use (default /usr/bin/docker, Debian's 20.10)
#
# 1. socket probe: every address family 0..45 (and values with upper bits set) under the
#    profile: AF_UNIX, AF_INET, AF_INET6 open, TCP bind/listen/accept works, everything
#    else fails with EAFNOSUPPORT; ICMP ping sockets EACCES (the sysctl); clone3 stays
#    ENOSYS, io_uring EPERM, threads start.
# 2. the server: serve.py on MODEL_DIR, then /healthz, /predict (list and object rows,
#    checked against a pure-Python evaluation of model.json) and every kind of bad input.
# Prints PASS/FAIL per check; exits 1 on any failure.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
data_dir=${CLOISTER_DATA_DIR:-/var/lib/cloister}
docker=${DOCKER:-/usr/bin/docker}
port=${PORT:-18081}

model_dir=${1:-}
if [ -z "$model_dir" ]; then
    # shellcheck disable=SC2012 # job directory names are hex ids
    sig=$(ls -t "$data_dir"/artifacts/*/model.sig 2>/dev/null | head -n 1) || true
    [ -n "$sig" ] || { echo "check: no sealed model under $data_dir/artifacts; pass MODEL_DIR" >&2; exit 2; }
    model_dir=$(dirname "$sig")
fi
model_dir=$(cd "$model_dir" && pwd)
image=${2:-cloister/serving-base:bookworm}
profile=${3:-$repo/seccomp-profiles/serving.json}

# The serving container's locks (the deployer adds its own resource limits). The sysctl
# closes the ICMP "ping" sockets that Docker opens to every group and seccomp cannot tell
# from UDP; it is passed on its own because its value holds a space.
locks="--read-only --tmpfs /tmp:size=16m,mode=1777 --user 65534:65534 --cap-drop ALL
  --security-opt no-new-privileges --pids-limit 128 --memory 256m --memory-swap 256m"
no_ping="net.ipv4.ping_group_range=1 0"

probe=$(cat <<'PY'
import ctypes, errno, os, socket, sys, threading

MODE = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
results = []
OPEN = {1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6"}

def syscall(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return r, (ctypes.get_errno() if r < 0 else 0)

def name(e):
    return errno.errorcode.get(e, str(e)) if e else "ok"

def check(label, ok, detail):
    results.append(ok)
    tag = ("PASS" if ok else "FAIL") if MODE == "profile" else ("same   " if ok else "DIFFERS")
    print("%s %s: %s" % (tag, label, detail), flush=True)

def sock(family, kind=socket.SOCK_STREAM, proto=0):
    r, e = syscall(41, family, kind, proto)  # socket(2), raw: the 64-bit argument as given
    if r >= 0:
        os.close(r)
    return e

for fam, label in OPEN.items():
    e = sock(fam)
    check("socket(%s) opens" % label, e == 0, name(e))
refused = [f for f in range(46) if f not in OPEN]
wrong = {f: name(e) for f in refused for e in [sock(f, socket.SOCK_DGRAM)] if e != errno.EAFNOSUPPORT}
check("socket(family) EAFNOSUPPORT for all other families 0..45 (%d)" % len(refused), not wrong,
      "all EAFNOSUPPORT" if not wrong else "differ: %s" % wrong)
for fam, label, kind in ((16, "AF_NETLINK", socket.SOCK_RAW), (17, "AF_PACKET", socket.SOCK_RAW),
                         (40, "AF_VSOCK", socket.SOCK_STREAM), (38, "AF_ALG", socket.SOCK_SEQPACKET),
                         (0, "AF_UNSPEC", socket.SOCK_STREAM)):
    e = sock(fam, kind)
    check("socket(%s) refused" % label, e == errno.EAFNOSUPPORT, name(e))
for value, label in ((1 | 1 << 32, "AF_UNIX|1<<32"), (2 | 1 << 32, "AF_INET|1<<32"),
                     (10 | 1 << 32, "AF_INET6|1<<32"), (40 | 1 << 32, "AF_VSOCK|1<<32"), (-1, "-1")):
    e = sock(value)
    check("socket(%s) refused" % label, e == errno.EAFNOSUPPORT, name(e))

def socketpair(family):
    fds = (ctypes.c_int * 2)()
    r, e = syscall(53, family, socket.SOCK_STREAM, 0, ctypes.byref(fds))
    if r == 0:
        os.close(fds[0]); os.close(fds[1])
    return e
check("socketpair(AF_UNIX) opens", socketpair(1) == 0, name(socketpair(1)))
check("socketpair(AF_INET) refused", socketpair(2) == errno.EAFNOSUPPORT, name(socketpair(2)))

def tcp_roundtrip(family, host):
    srv = socket.socket(family, socket.SOCK_STREAM)
    try:
        srv.bind((host, 0)); srv.listen(1)
        cli = socket.create_connection(srv.getsockname()[:2], timeout=5)
        conn, _ = srv.accept()
        cli.sendall(b"ping"); data = conn.recv(4)
        conn.close(); cli.close()
        return data == b"ping", "bind/listen/accept/connect ok"
    except OSError as exc:
        return False, "%s" % exc
    finally:
        srv.close()
check("TCP over AF_INET 127.0.0.1", *tcp_roundtrip(socket.AF_INET, "127.0.0.1"))
ok, detail = tcp_roundtrip(socket.AF_INET6, "::1")
if not ok and "Cannot assign requested address" in detail:
    ok, detail = True, "no ::1 in this container (IPv6 off on the bridge); socket(AF_INET6) opened above"
check("TCP over AF_INET6 ::1", ok, detail)

e = sock(2, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
# Not seccomp's doing: the sysctl's (the control run goes without it).
check("ICMP ping socket refused", e == errno.EACCES, name(e))
r, e = syscall(435, 0, 0)
check("clone3 is ENOSYS", e == errno.ENOSYS, name(e))
params = ctypes.create_string_buffer(120)
r, e = syscall(425, 1, params)
if r >= 0:
    os.close(r)
check("io_uring_setup refused", e == errno.EPERM, name(e))
t = threading.Thread(target=lambda: None); t.start(); t.join()
check("threads start", True, "ok")
import numpy
check("numpy imports", True, numpy.__version__)
failed = results.count(False)
print("%s: %d checks, %d %s" % (MODE, len(results), failed,
      "failed" if MODE == "profile" else "behave differently from the serving profile"), flush=True)
sys.exit(1 if failed and MODE == "profile" else 0)
PY
)

status=0
echo "== socket probe: $(basename "$profile") in $image (--network bridge)"
# shellcheck disable=SC2086 # $locks is a list of flags
"$docker" run --rm --network bridge $locks --sysctl "$no_ping" --security-opt "seccomp=$profile" \
    "$image" python3 -c "$probe" profile || status=1
if [ "${CONTROL:-1}" != 0 ]; then
    echo "== control: the same probe under docker-default.json (informational)"
    # shellcheck disable=SC2086
    "$docker" run --rm --network bridge $locks --security-opt "seccomp=$repo/seccomp-profiles/docker-default.json" \
        "$image" python3 -c "$probe" control || true
fi

echo "== server: $model_dir on 127.0.0.1:$port"
name=cloister-serving-check-$$
# shellcheck disable=SC2086
"$docker" run --rm -d --name "$name" --network bridge -p "127.0.0.1:$port:8080" $locks \
    --sysctl "$no_ping" --security-opt "seccomp=$profile" \
    -v "$model_dir:/model:ro" -v "$here/app:/opt/cloister/serving:ro" \
    "$image" python3 /opt/cloister/serving/serve.py >/dev/null
trap '[ -n "${KEEP:-}" ] || "$docker" rm -f "$name" >/dev/null 2>&1 || true' EXIT INT TERM

python3 - "$port" "$model_dir" <<'PY' || status=1
import http.client, json, math, os, socket, sys, time

port, model_dir = int(sys.argv[1]), sys.argv[2]
results = []

def check(label, ok, detail=""):
    results.append(bool(ok))
    print("%s %s%s" % ("PASS" if ok else "FAIL", label, ": " + detail if detail else ""), flush=True)

def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()

deadline = time.time() + 15
while True:
    try:
        status, ctype, raw = request("GET", "/healthz")
        break
    except OSError:
        if time.time() > deadline:
            check("server answers /healthz within 15 s", False)
            sys.exit(1)
        time.sleep(0.2)

health = json.loads(raw)
check("GET /healthz", status == 200 and health.get("status") == "ok", raw.decode().strip())
if os.path.exists(os.path.join(model_dir, "model.sig")):
    import base64
    bundle = json.load(open(os.path.join(model_dir, "model.sig")))
    subject = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))["subject"][0]["digest"]["sha256"]
    check("healthz names model.sig's root digest", health.get("model") == "sha256:" + subject)
else:
    check("healthz model is null without model.sig", health.get("model") is None)

model = json.load(open(os.path.join(model_dir, "model.json")))
names = model["feature_names"]
d = len(names)

def expected(row):
    z = sum((x - m) / s * w for x, m, s, w in zip(row, model["mean"], model["std"], model["weights"])) + model["bias"]
    p = 0.5 * (1.0 + math.tanh(0.5 * z))
    return int(p >= 0.5), p

csv_path = os.path.join(os.environ.get("CLOISTER_DATA_DIR", "/var/lib/cloister"), "datasets/breast-cancer/breast_cancer.csv")
if os.path.exists(csv_path):
    lines = open(csv_path).read().splitlines()
    header = lines[0].split(",")
    rows = [[float(v) for v in line.split(",")] for line in lines[1:41]]
    order = [header.index(n) for n in names]
    rows = [[r[i] for i in order] for r in rows]
else:
    rows = [list(model["mean"]), [m + s for m, s in zip(model["mean"], model["std"])]]

def predict(doc):
    status, ctype, raw = request("POST", "/predict", json.dumps(doc).encode(), {"Content-Type": "application/json"})
    return status, ctype, json.loads(raw)

status, ctype, out = predict({"rows": rows})
want = [expected(r) for r in rows]
ok = (status == 200 and out["predictions"] == [w[0] for w in want]
      and all(abs(p - w[1]) < 1e-9 for p, w in zip(out["probabilities"], want)))
check("POST /predict, %d list rows, matches model.json evaluated in pure Python" % len(rows), ok,
      "predictions %s..." % out.get("predictions", out)[:8])
status, ctype, out2 = predict({"rows": [dict(zip(names, r)) for r in rows]})
check("POST /predict with object rows gives the same answer", status == 200 and out2 == out)

problem_ok = []
def bad(label, want_status, body, headers=None, method="POST", path="/predict", must_mention=""):
    h = {"Content-Type": "application/json"} if headers is None else headers
    try:
        status, ctype, raw = request(method, path, body, h)
    except OSError as exc:
        check("%s -> %d" % (label, want_status), False, "%s: %s" % (type(exc).__name__, exc))
        return
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = {}
    detail = doc.get("detail", raw[:120].decode(errors="replace"))
    ok = (status == want_status and ctype == "application/problem+json" and doc.get("status") == status
          and must_mention.lower() in detail.lower() and b"Traceback" not in raw)
    check("%s -> %d" % (label, want_status), ok, "%d %s" % (status, detail))

bad("wrong number of values", 400, json.dumps({"rows": [[1.0] * (d - 1)]}).encode(), must_mention="features")
bad("a string value", 400, json.dumps({"rows": [["x"] + [1.0] * (d - 1)]}).encode(), must_mention="not a number")
bad("a boolean value", 400, json.dumps({"rows": [[True] + [1.0] * (d - 1)]}).encode(), must_mention="not a number")
bad("NaN", 400, ('{"rows": [[NaN' + ", 1.0" * (d - 1) + "]]}").encode(), must_mention="NaN")
bad("1e999 (infinite)", 400, ('{"rows": [[1e999' + ", 1.0" * (d - 1) + "]]}").encode(), must_mention="finite")
bad("missing feature", 400, json.dumps({"rows": [dict(zip(names[1:], rows[0][1:]))]}).encode(), must_mention="missing")
bad("unknown feature", 400, json.dumps({"rows": [dict(zip(names + ["extra"], rows[0] + [1]))]}).encode(), must_mention="unknown")
bad("not JSON", 400, b"rows=1", must_mention="not JSON")
bad("not UTF-8", 400, b'{"rows": "\xff"}', must_mention="UTF-8")
bad("empty rows", 400, b'{"rows": []}', must_mention="non-empty")
bad("no rows field", 400, b'{"data": [[1]]}')
bad("unknown top-level field", 400, json.dumps({"rows": [rows[0]], "debug": True}).encode(), must_mention="unknown")
bad("a row that is a number", 400, b'{"rows": [5]}')
bad("deep nesting", 400, b"[" * 100000 + b"]" * 100000)
bad("too many rows", 400, json.dumps({"rows": [[0] * d] * 10001}).encode(), must_mention="at most")
bad("body over 1 MiB", 413, b" " * (1024 * 1024 + 1))
bad("text/plain body", 415, b"{}", headers={"Content-Type": "text/plain"})
bad("GET /predict", 405, None, headers={}, method="GET")
bad("POST /healthz", 405, b"{}", path="/healthz")
bad("unknown path", 404, None, headers={}, method="GET", path="/admin")
bad("unknown method", 501, None, headers={}, method="DELETE")

# Expect: 100-continue with a 10 MiB body: 413 at once, before any of the body is sent.
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 10485760\r\nExpect: 100-continue\r\n\r\n")
reply = s.recv(65536); s.close()
check("Expect: 100-continue, 10 MiB -> 413 before the body", reply.startswith(b"HTTP/1.1 413"),
      reply.split(b"\r\n")[0].decode())
# Chunked body: refused, never read.
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
reply = s.recv(65536); s.close()
check("chunked body -> 411", reply.startswith(b"HTTP/1.1 411") and b"problem+json" in reply, reply.split(b"\r\n")[0].decode())
# Garbage request line: http.server's own error, in the JSON problem format.
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"NOT A REQUEST LINE AT ALL\r\n\r\n")
reply = s.recv(65536); s.close()
check("malformed request line -> 400 JSON", reply.startswith(b"HTTP/1.1 400") and b"problem+json" in reply
      and b"<html" not in reply.lower(), reply.split(b"\r\n")[0].decode())
status, ctype, raw = request("GET", "/healthz")
check("still healthy after the bad requests", status == 200)
failed = results.count(False)
print("server: %d checks, %d failed" % (len(results), failed))
sys.exit(1 if failed else 0)
PY

logs=$("$docker" logs "$name" 2>&1)
if printf '%s\n' "$logs" | grep -q Traceback; then
    echo "FAIL the server logged a traceback:"; printf '%s\n' "$logs" | tail -n 20; status=1
else
    echo "PASS no traceback in the server log ($(printf '%s\n' "$logs" | wc -l) lines)"
fi
# shellcheck disable=SC2016 # expanded by the container's shell
facts=$("$docker" exec "$name" sh -c 'for s in /proc/[0-9]*/status; do
    grep -q "^Name:.python3" "$s" && grep -E "^(Uid|CapEff|NoNewPrivs|Seccomp):" "$s"; done' | tr -s '\t\n' '  ')
echo "     server process: $facts"
exit "$status"
