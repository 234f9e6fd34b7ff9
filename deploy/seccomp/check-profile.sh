#!/bin/sh
# Smoke-test a seccomp profile inside the trainer base image, with the same
# locks Cloister puts on a training job.
#
# Usage: deploy/seccomp/check-profile.sh [PROFILE [IMAGE]]
#   PROFILE  default: <repo>/seccomp-profiles/training.json
#   IMAGE    default: cloister/trainer-base:bookworm
#   CONTROL=0  skip the informational control run under docker-default.json
#   DOCKER     docker client to use (default /usr/bin/docker, Debian's 20.10)
#
# Prints one line per check ("PASS name: detail" / "FAIL name: detail") and
# exits non-zero if any check fails. The control run then shows what the same
# probes see under Docker's default profile ("DIFFERS" where Docker's default
# lets the call through or fails it differently), so a check that would pass
# under both profiles, because capabilities or the kernel already refuse the
# call, is visible as such.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
profile=${1:-$repo/seccomp-profiles/training.json}
image=${2:-cloister/trainer-base:bookworm}
docker=${DOCKER:-/usr/bin/docker}

probe=$(cat <<'PY'
import ctypes, errno, mmap, os, socket, sys, threading

MODE = sys.argv[1] if len(sys.argv) > 1 else "training"
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
results = []

def syscall(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return r, (ctypes.get_errno() if r < 0 else 0)

def name(e):
    return errno.errorcode.get(e, str(e)) if e else "ok"

def check(label, fn):
    try:
        ok, detail = fn()
    except Exception as exc:  # a crash in a probe is a failure, not an abort
        ok, detail = False, "%s: %s" % (type(exc).__name__, exc)
    results.append(ok)
    if MODE == "training":
        tag = "PASS" if ok else "FAIL"
    else:  # control run: does the other profile behave like the training one?
        tag = "same   " if ok else "DIFFERS"
    print("%s %s: %s" % (tag, label, detail), flush=True)

def expect_errno(nr, args, want, close=True):
    def fn():
        r, e = syscall(nr, *args)
        if r >= 0 and close and r > 2:
            os.close(r)
        return e == want, "returned %d (%s), want %s" % (r, name(e), name(want))
    return fn

# --- what a training job needs -------------------------------------------
def pid_after_nap():
    import time
    time.sleep(0.2)
    return os.getpid()

def numpy_sklearn():
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    X, y = make_classification(n_samples=600, n_features=20, random_state=0)
    model = LogisticRegression(max_iter=500, n_jobs=2).fit(X, y)
    scores = cross_val_score(LogisticRegression(max_iter=500), X, y, cv=3, n_jobs=2)  # joblib/loky processes
    import joblib
    workers = set(joblib.Parallel(n_jobs=2, batch_size=1)(joblib.delayed(pid_after_nap)() for _ in range(4)))
    a = np.random.default_rng(0).standard_normal((400, 400))
    np.linalg.inv(a @ a.T + np.eye(400))  # OpenBLAS, threaded
    ok = len(workers) == 2 and os.getpid() not in workers and model.score(X, y) > 0.9
    return ok, "numpy %s, train acc %.3f, cv(n_jobs=2) %.3f, %d joblib worker processes" % (
        np.__version__, model.score(X, y), scores.mean(), len(workers))

def threads():
    out = []
    ts = [threading.Thread(target=lambda i=i: out.append(i * i)) for i in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    return sorted(out) == [i * i for i in range(8)], "8 threads ran"

def square(x):
    return x * x

def pool():
    import multiprocessing
    with multiprocessing.Pool(2) as p:
        got = p.map(square, range(10))
    return got == [x * x for x in range(10)], "Pool(2).map -> %s" % got[:4]

def unix_sockets():
    a, b = socket.socketpair()
    a.sendall(b"ping")
    ok = b.recv(4) == b"ping"
    a.close(); b.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.close()
    return ok, "socketpair(AF_UNIX) and socket(AF_UNIX) work"

check("numpy+sklearn fit", numpy_sklearn)
check("threading", threads)
check("multiprocessing", pool)
check("AF_UNIX", unix_sockets)

# --- what the profile must refuse ----------------------------------------
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW = 1, 2, 3
for fam, fname, typ in [(2, "AF_INET", SOCK_STREAM), (2, "AF_INET(icmp ping)", SOCK_DGRAM),
                        (10, "AF_INET6", SOCK_STREAM), (16, "AF_NETLINK", SOCK_RAW),
                        (17, "AF_PACKET", SOCK_RAW), (38, "AF_ALG", 5), (40, "AF_VSOCK", SOCK_STREAM),
                        (0x100000028, "AF_VSOCK|1<<32", SOCK_STREAM)]:
    proto = 1 if "icmp" in fname else 0
    check("socket(%s) refused" % fname, expect_errno(41, (fam, typ, proto), errno.EAFNOSUPPORT))
check("socketpair(AF_INET) refused", lambda: (lambda r: (r[1] == errno.EAFNOSUPPORT, "%s" % name(r[1])))(
    syscall(53, 2, 1, 0, ctypes.byref((ctypes.c_int * 2)()))))

params = ctypes.create_string_buffer(120)
check("io_uring_setup(425) refused", expect_errno(425, (1, params), errno.EPERM))
check("clone3(435) is ENOSYS", expect_errno(435, (0, 0), errno.ENOSYS))
check("unshare(CLONE_NEWUSER) refused", expect_errno(272, (0x10000000,), errno.EPERM))
check("userfaultfd(323) refused", expect_errno(323, (0,), errno.EPERM))
check("bpf(321) refused", expect_errno(321, (0, 0, 0), errno.EPERM))
check("perf_event_open(298) refused", expect_errno(298, (0, 0, -1, -1, 0), errno.EPERM))
check("keyctl(250) refused", expect_errno(250, (0, 0), errno.EPERM))
check("get_mempolicy(239) refused", expect_errno(239, (0, 0, 0, 0, 0), errno.EPERM))
check("process_vm_readv(310) refused", expect_errno(310, (os.getpid(), 0, 0, 0, 0, 0), errno.EPERM))
check("modify_ldt(154) refused", expect_errno(154, (0, 0, 0), errno.EPERM))
check("personality(ADDR_NO_RANDOMIZE) refused", expect_errno(135, (0x0040000,), errno.EPERM))
check("personality(query) allowed", lambda: (lambda r: (r[0] >= 0, "returned %#x" % r[0]))(syscall(135, 0xFFFFFFFF)))

def in_child(fn):
    """Run fn() in a forked child; return ('exit', code) or ('signal', n)."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(fn())
        except BaseException:
            os._exit(99)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status), None
    return "exit", os.WEXITSTATUS(status)

def outcome(how, code):
    return how if code is None else "%s %s" % (how, name(code))

def ptrace_traceme():
    r, e = syscall(101, 0, 0, 0, 0)  # PTRACE_TRACEME
    return 0 if r == 0 else e
how, code = in_child(ptrace_traceme)
check("ptrace(101) refused", lambda: (code == errno.EPERM, outcome(how, code)))

def int80_getpid():
    # i386 ABI from a 64-bit process: mov eax, 20 (getpid); int 0x80; ret
    code = b"\xb8\x14\x00\x00\x00\xcd\x80\xc3"
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    fn = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
    r = fn()
    return 0 if r == os.getpid() else (min(-r, 98) if r < 0 else 98)
how, code = in_child(int80_getpid)
check("i386 syscall (int 0x80) refused", lambda: (code != 0, outcome(how, code)))

def x32_getpid():
    r, e = syscall(0x40000000 | 39)
    return 0 if r == os.getpid() else e
how, code = in_child(x32_getpid)
check("x32 syscall refused", lambda: (code != 0, outcome(how, code)))

check("uid is 1000, no capabilities",
      lambda: (os.geteuid() == 1000 and "CapEff:\t0000000000000000" in open("/proc/self/status").read(),
               "euid=%d" % os.geteuid()))

failed = results.count(False)
print("%s: %d checks, %d %s" % (MODE, len(results), failed,
      "failed" if MODE == "training" else "behave differently from training.json"), flush=True)
sys.exit(1 if failed and MODE == "training" else 0)
PY
)

run() {
    "$docker" run --rm --network none --read-only --cap-drop ALL \
        --security-opt no-new-privileges --security-opt "seccomp=$1" \
        --user 1000:1000 --tmpfs /tmp:size=64m --pids-limit 256 --memory 1g --memory-swap 1g \
        "$image" python3 -c "$probe" "$2"
}

echo "== $(basename "$profile") in $image"
status=0
run "$profile" training || status=$?

if [ "${CONTROL:-1}" != 0 ]; then
    echo "== control: the same probes under docker-default.json (informational)"
    run "$repo/seccomp-profiles/docker-default.json" control || true
fi
exit "$status"
