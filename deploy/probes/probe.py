#!/usr/bin/env python3
"""Cloister's escape and exfiltration probes: run as a job's command, try every move below, report each one.

Output: one JSON line per probe, then one summary line, on stdout:

    {"probe": NAME, "outcome": "blocked"|"allowed"|"not-applicable"|"error", "errno": INT|null, "detail": TEXT}
    {"summary": {"probes": N, "outcomes": {...}, "allowed": [...], "errors": [...], "seconds": S, ...}}

Outcomes:
  blocked         the move was tried and refused (errno says how), or its target is masked, empty or unreachable
  allowed         the move succeeded in a way that matters (a packet could leave, a capability check passed, a cap
                  was exceeded, host state was reachable); the integration test fails on it unless the policy lists
                  it under acceptedExceptions
  not-applicable  the target does not exist here at all (e.g. a /proc file this kernel lacks, no /data mounted)
  error           the probe could not decide (unexpected errno, exception, time-out); the test fails on it too

Nothing here sends a packet anywhere reachable: every network target is unroutable (TEST-NET, 10.255.255.1,
the IPv6 discard prefix) or loopback, every attempt is bounded by a time-out, and the job runs with no network.
Files that could change host state (/proc/sys, /sys, cgroup release_agent, /proc/sysrq-trigger) are only opened for
writing, never written; privileged syscalls get arguments that are harmless even where the call is permitted.

Python standard library only; raw syscalls through ctypes use x86_64 numbers. Every probe runs in its own forked
process with its own time-out, so a probe that crashes, is killed by seccomp (SIGSYS) or hangs costs only itself.

Limits to compare against (memory, cpus, pids, tmp, shm, out) come from the job's hyperparameters
(expect_memory, expect_cpus, expect_pids, expect_tmp, expect_shm, expect_out; bytes, cpus as a number) when given,
else from what the container shows (cgroup files, statvfs); the detail says which.

Usage: probe.py [--only a,b,...] [--skip a,b,...] [--list]
The resource bombs (fork_bomb, memory_bomb) run last: under gVisor an OOM or pids overrun kills the whole sandbox,
so the integration test runs each of them as a job of its own.
"""

import ctypes
import errno as E
import json
import mmap
import os
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
libc.prctl.restype = ctypes.c_int

MiB = 1 << 20
START = time.monotonic()

# x86_64 syscall numbers
SYS = dict(mmap=9, ptrace=101, syslog=103, personality=135, modify_ldt=154, pivot_root=155, adjtimex=159,
           settimeofday=164, umount2=166, reboot=169, iopl=172, ioperm=173, init_module=175, delete_module=176,
           clock_settime=227, kexec_load=246, add_key=248, request_key=249, keyctl=250, unshare=272,
           perf_event_open=298, name_to_handle_at=303, open_by_handle_at=304, setns=308, process_vm_readv=310,
           finit_module=313, kexec_file_load=320, bpf=321, userfaultfd=323, io_uring_setup=425, open_tree=428,
           fsopen=430, pidfd_open=434, clone3=435, pidfd_getfd=438, clone=56, getpid=39)

CLONE_NEWTIME, CLONE_NEWNS, CLONE_NEWCGROUP = 0x80, 0x20000, 0x02000000
CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x04000000, 0x08000000, 0x10000000, \
    0x20000000, 0x40000000
NAMESPACES = dict(user=CLONE_NEWUSER, mnt=CLONE_NEWNS, uts=CLONE_NEWUTS, ipc=CLONE_NEWIPC, net=CLONE_NEWNET,
                  pid=CLONE_NEWPID, cgroup=CLONE_NEWCGROUP, time=CLONE_NEWTIME)

# errnos that mean "refused": by seccomp, a missing capability, a read-only or noexec mount, or no route
REFUSED = {E.EPERM, E.EACCES, E.ENOSYS, E.EAFNOSUPPORT, E.EPROTONOSUPPORT, E.ESOCKTNOSUPPORT, E.EROFS,
           E.ENETUNREACH, E.EHOSTUNREACH, E.EADDRNOTAVAIL}


# ---------------------------------------------------------------------------------------------------- helpers

def ename(err):
    return E.errorcode.get(err, str(err)) if err else "ok"


class Verdict(Exception):
    """Raised (or returned) by a probe: its outcome, errno and detail."""

    def __init__(self, outcome, err, detail):
        super().__init__(detail)
        self.outcome, self.err, self.detail = outcome, err, detail


def blocked(detail, err=None):
    return Verdict("blocked", err, detail)


def allowed(detail, err=None):
    return Verdict("allowed", err, detail)


def na(detail, err=None):
    return Verdict("not-applicable", err, detail)


def error(detail, err=None):
    return Verdict("error", err, detail)


def _arg(a):
    if a is None:
        return ctypes.c_void_p(None)
    if isinstance(a, int):
        return ctypes.c_long(a)
    if isinstance(a, bytes):
        return ctypes.c_char_p(a)
    return a  # a ctypes object or pointer


def syscall(name, *args):
    """Returns (result, errno): errno 0 on success."""
    nr = SYS[name] if isinstance(name, str) else name
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[_arg(a) for a in args])
    return (r, ctypes.get_errno()) if r == -1 else (r, 0)


def judge_call(label, r, err, refused=REFUSED, on_success=None):
    """The common verdict for one privileged call: success → allowed, a refusal errno → blocked, else error."""
    if err == 0:
        if on_success:
            on_success(r)
        return allowed(f"{label} succeeded (returned {r})")
    if err in refused:
        return blocked(f"{label}: {ename(err)}", err)
    return error(f"{label}: unexpected {ename(err)}", err)


def worst(verdicts):
    """Combines several attempts: any allowed wins, then error, then blocked, then not-applicable."""
    order = {"allowed": 0, "error": 1, "blocked": 2, "not-applicable": 3}
    verdicts = list(verdicts)
    top = min(verdicts, key=lambda v: order[v.outcome])
    detail = "; ".join(v.detail for v in verdicts)
    # The errno of the deciding attempt; for a refusal with none (e.g. "reads empty"), the first refusal's errno.
    err = top.err
    if err is None and top.outcome == "blocked":
        err = next((v.err for v in verdicts if v.err and v.outcome == "blocked"), None)
    return Verdict(top.outcome, err, detail)


def in_child(fn, timeout=5.0):
    """Runs fn() in a forked child; returns ('exit', code) or ('signal', signum) or ('timeout', None)."""
    pid = os.fork()
    if pid == 0:
        code = 125
        try:
            code = fn()
        except BaseException:
            code = 124
        finally:
            os._exit(code if isinstance(code, int) else 0)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                return "signal", os.WTERMSIG(status)
            return "exit", os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", None
        time.sleep(0.005)


def sleeper():
    """Forks a child that sleeps until killed; returns its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            time.sleep(60)
        finally:
            os._exit(0)
    return pid


def reap(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass


def open_for_write(path):
    """Opens path O_WRONLY and closes it at once without writing: success is 'allowed'."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return na(f"{path} absent", E.ENOENT)
    except OSError as e:
        if e.errno in REFUSED:
            return blocked(f"{path}: {ename(e.errno)}", e.errno)
        return error(f"{path}: unexpected {ename(e.errno)}", e.errno)
    os.close(fd)
    return allowed(f"{path} opened for writing (nothing written)")


def read_masked(path, want=4096):
    """Reads a file that the runtime should mask: content → allowed; refusal or empty → blocked; absent → n/a."""
    try:
        if os.path.isdir(path):
            entries = os.listdir(path)
            return allowed(f"{path} lists {sorted(entries)[:8]}") if entries else blocked(f"{path} is an empty directory")
        with open(path, "rb", buffering=0) as f:
            data = f.read(want)
    except FileNotFoundError:
        return na(f"{path} absent", E.ENOENT)
    except OSError as e:
        if e.errno in REFUSED | {E.EINVAL, E.EIO}:
            return blocked(f"{path}: {ename(e.errno)}", e.errno)
        return error(f"{path}: unexpected {ename(e.errno)}", e.errno)
    if not data.strip():
        return blocked(f"{path} reads empty (masked)")
    return allowed(f"{path} readable: {data[:60]!r}")


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def status_fields():
    out = {}
    for line in (read_text("/proc/self/status") or "").splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def mounts():
    """(mount point, fstype, options) for every line of /proc/self/mountinfo."""
    rows = []
    for line in (read_text("/proc/self/mountinfo") or "").splitlines():
        left, _, right = line.partition(" - ")
        f = left.split()
        r = right.split()
        if len(f) >= 6 and r:
            rows.append((f[4], r[0], f[5] + "," + (r[2] if len(r) > 2 else "")))
    return rows


def cgroup_file(controller, name):
    text = read_text(f"/sys/fs/cgroup/{controller}/{name}")
    return text.strip() if text else None


# ---------------------------------------------------------------------------------------------------- context

class Context:
    """Limits to compare against: the policy's (from hyperparameters) when given, else what the container shows."""

    def __init__(self):
        hps = {}
        for path in ("/opt/ml/input/config/hyperparameters.json",):
            try:
                with open(path) as f:
                    hps = json.load(f)
            except (OSError, ValueError):
                pass
        self.source = {}
        self.memory = self._pick(hps, "memory", self._cgroup_int("memory", "memory.limit_in_bytes"))
        quota, period = self._cgroup_int("cpu", "cpu.cfs_quota_us"), self._cgroup_int("cpu", "cpu.cfs_period_us")
        self.cpus = self._pick(hps, "cpus", quota / period if quota and period and quota > 0 else None, float)
        pids = cgroup_file("pids", "pids.max")
        self.pids = self._pick(hps, "pids", int(pids) if pids and pids.isdigit() else None)
        self.tmp = self._pick(hps, "tmp", self._fs_size("/tmp"))
        self.shm = self._pick(hps, "shm", self._fs_size("/dev/shm"))
        self.out = self._pick(hps, "out", self._fs_size("/out"))

    def _pick(self, hps, key, seen, kind=int):
        v = hps.get("expect_" + key)
        if v is not None:
            self.source[key] = "policy"
            return kind(v)
        self.source[key] = "container" if seen is not None else "unknown"
        return seen

    @staticmethod
    def _cgroup_int(controller, name):
        v = cgroup_file(controller, name)
        try:
            return int(v) if v is not None else None
        except ValueError:
            return None

    @staticmethod
    def _fs_size(path):
        try:
            st = os.statvfs(path)
            return st.f_blocks * st.f_frsize
        except OSError:
            return None

    def as_dict(self):
        return {k: getattr(self, k) for k in ("memory", "cpus", "pids", "tmp", "shm", "out")} | {"source": self.source}


# ---------------------------------------------------------------------------------------------------- registry

PROBES = []


def probe(name, timeout=10.0, what=""):
    def deco(fn):
        PROBES.append((name, fn, timeout, what))
        return fn
    return deco


# ---------------------------------------------------------------------------------------------------- network

def connect(family, sockaddr, kind=socket.SOCK_STREAM, timeout=2.0):
    label = f"{'TCP' if kind == socket.SOCK_STREAM else 'UDP'} {sockaddr[0]}:{sockaddr[1]}"
    try:
        s = socket.socket(family, kind)
    except OSError as e:
        return blocked(f"{label}: socket() {ename(e.errno)}", e.errno)
    with s:
        s.settimeout(timeout)
        try:
            if kind == socket.SOCK_STREAM:
                s.connect(sockaddr)
                return allowed(f"{label}: connected")
            n = s.sendto(b"cloister-probe", sockaddr)
            return allowed(f"{label}: sendto() sent {n} bytes (a datagram left the container)")
        except socket.timeout:
            return allowed(f"{label}: no answer within {timeout}s, so a route existed and a packet left")
        except ConnectionRefusedError:
            return allowed(f"{label}: refused by a peer, so a packet reached something")
        except OSError as e:
            if e.errno in REFUSED:
                return blocked(f"{label}: {ename(e.errno)}", e.errno)
            return error(f"{label}: unexpected {ename(e.errno)}", e.errno)


@probe("net_tcp_egress", what="TCP connect to 10.255.255.1:80")
def _tcp(ctx):
    return connect(socket.AF_INET, ("10.255.255.1", 80))


@probe("net_tcp6_egress", what="TCP connect to [100::1]:80 (IPv6 discard prefix)")
def _tcp6(ctx):
    return connect(socket.AF_INET6, ("100::1", 80))


@probe("net_udp_egress", what="UDP datagram to 192.0.2.1:9 (TEST-NET-1)")
def _udp(ctx):
    return connect(socket.AF_INET, ("192.0.2.1", 9), socket.SOCK_DGRAM)


def dns_query(name="cloister-probe.invalid"):
    header = struct.pack(">HHHHHH", 0x5a5a, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return header + labels + struct.pack(">HH", 1, 1)


@probe("net_dns_egress", what="DNS query for cloister-probe.invalid over UDP to 192.0.2.1:53 and TCP to 10.255.255.1:53")
def _dns(ctx):
    servers = [l.split()[1] for l in (read_text("/etc/resolv.conf") or "").splitlines()
               if l.startswith("nameserver") and len(l.split()) > 1]
    verdicts = []
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError as e:
        verdicts.append(blocked(f"UDP socket(): {ename(e.errno)}", e.errno))
    else:
        with s:
            s.settimeout(2)
            try:
                s.sendto(dns_query(), ("192.0.2.1", 53))
                verdicts.append(allowed("UDP query to 192.0.2.1:53 sent"))
            except OSError as e:
                verdicts.append(blocked(f"UDP 192.0.2.1:53: {ename(e.errno)}", e.errno) if e.errno in REFUSED
                                else error(f"UDP 192.0.2.1:53: unexpected {ename(e.errno)}", e.errno))
    verdicts.append(connect(socket.AF_INET, ("10.255.255.1", 53)))
    v = worst(verdicts)
    # The configured resolver is named, never contacted: it may be reachable from the host.
    return Verdict(v.outcome, v.err, v.detail + f"; resolv.conf names {servers} (not contacted)")


@probe("net_dns_loopback", what="DNS query to Docker's embedded resolver 127.0.0.11:53 and 127.0.0.53:53; an answer is 'allowed'")
def _dns_lo(ctx):
    verdicts = []
    for server in ("127.0.0.11", "127.0.0.53"):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        except OSError as e:
            verdicts.append(blocked(f"socket(): {ename(e.errno)}", e.errno))
            break
        with s:
            s.settimeout(1)
            try:
                s.sendto(dns_query(), (server, 53))
                data = s.recv(512)
                verdicts.append(allowed(f"{server}:53 answered {len(data)} bytes"))
            except socket.timeout:
                verdicts.append(blocked(f"{server}:53: no resolver answers"))
            except OSError as e:
                verdicts.append(blocked(f"{server}:53: {ename(e.errno)}", e.errno) if e.errno in REFUSED | {E.ECONNREFUSED}
                                else error(f"{server}:53: unexpected {ename(e.errno)}", e.errno))
    return worst(verdicts)


@probe("net_icmp_ping", what="ICMP echo through an unprivileged ping socket to 192.0.2.1")
def _ping(ctx):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except OSError as e:
        return blocked(f"ping socket(): {ename(e.errno)}", e.errno)
    with s:
        s.settimeout(2)
        try:
            s.sendto(struct.pack(">BBHHH", 8, 0, 0, 0, 1) + b"cloister", ("192.0.2.1", 0))
            return allowed("ping socket opened and an echo request left")
        except OSError as e:
            if e.errno in REFUSED:
                return blocked(f"ping socket opened, but sendto(): {ename(e.errno)}", e.errno)
            return error(f"sendto(): unexpected {ename(e.errno)}", e.errno)


@probe("net_interfaces", what="network interfaces other than lo (/sys/class/net, /proc/net/dev)")
def _ifaces(ctx):
    names, sources = set(), []
    try:
        names |= set(os.listdir("/sys/class/net"))
        sources.append("/sys/class/net")
    except OSError as e:
        sources.append(f"/sys/class/net {ename(e.errno)}")
    dev = read_text("/proc/net/dev")
    if dev is not None:
        names |= {l.split(":")[0].strip() for l in dev.splitlines()[2:] if ":" in l}
        sources.append("/proc/net/dev")
    if not any(s in ("/sys/class/net", "/proc/net/dev") for s in sources):
        return error(f"no interface list readable ({sources})")
    others = sorted(names - {"lo"})
    if others:
        return allowed(f"interfaces {sorted(names)} (from {sources})")
    return blocked(f"only {sorted(names)} (from {sources}): nothing to send through")


@probe("net_routes", what="routes through any interface but lo (/proc/net/route, /proc/net/ipv6_route)")
def _routes(ctx):
    found, seen = [], []
    v4 = read_text("/proc/net/route")
    if v4 is not None:
        seen.append("route")
        found += [l.split()[0] + " " + l.split()[1] for l in v4.splitlines()[1:] if l.split() and l.split()[0] != "lo"]
    v6 = read_text("/proc/net/ipv6_route")
    if v6 is not None:
        seen.append("ipv6_route")
        found += [l.split()[-1] + " " + l.split()[0] for l in v6.splitlines() if l.split() and l.split()[-1] != "lo"]
    if not seen:
        return error("neither /proc/net/route nor /proc/net/ipv6_route is readable")
    if found:
        return allowed(f"routes: {found[:6]}")
    return blocked(f"no route except through lo ({', '.join(seen)} read)")


def try_socket(label, family, kind, proto=0):
    try:
        s = socket.socket(family, kind, proto)
    except OSError as e:
        if e.errno in REFUSED | {E.EINVAL, E.ENODEV}:
            return blocked(f"{label}: {ename(e.errno)}", e.errno)
        return error(f"{label}: unexpected {ename(e.errno)}", e.errno)
    s.close()
    return allowed(f"{label}: socket opened")


@probe("sock_raw", what="raw IPv4 socket (SOCK_RAW, IPPROTO_ICMP)")
def _raw(ctx):
    return try_socket("AF_INET/SOCK_RAW", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)


@probe("sock_packet", what="AF_PACKET socket (link-layer frames)")
def _packet(ctx):
    return try_socket("AF_PACKET/SOCK_RAW", 17, socket.SOCK_RAW, socket.htons(3))


@probe("sock_vsock", what="AF_VSOCK socket (host/hypervisor sockets, not covered by --network none); never connected")
def _vsock(ctx):
    verdicts = [try_socket("AF_VSOCK/SOCK_STREAM", 40, socket.SOCK_STREAM),
                try_socket("AF_VSOCK/SOCK_DGRAM", 40, socket.SOCK_DGRAM)]
    # The family with garbage in the upper 32 bits: the kernel truncates it to AF_VSOCK, a filter must not.
    r, err = syscall(41, 40 | (1 << 32), socket.SOCK_STREAM | socket.SOCK_CLOEXEC, 0)
    verdicts.append(judge_call("socket(AF_VSOCK|1<<32)", r, err, refused=REFUSED | {E.EINVAL}, on_success=os.close))
    return worst(verdicts)


@probe("sock_netlink", what="AF_NETLINK sockets (route, audit, uevent)")
def _netlink(ctx):
    return worst([try_socket("NETLINK_ROUTE", 16, socket.SOCK_RAW, 0),
                  try_socket("NETLINK_AUDIT", 16, socket.SOCK_RAW, 9),
                  try_socket("NETLINK_KOBJECT_UEVENT", 16, socket.SOCK_DGRAM, 15)])


@probe("sock_alg", what="AF_ALG socket (kernel crypto API)")
def _alg(ctx):
    return try_socket("AF_ALG/SOCK_SEQPACKET", 38, socket.SOCK_SEQPACKET)


@probe("sock_families", what="socket() for every address family 0-45 but AF_UNIX, four socket types each")
def _families(ctx):
    opened, refused = [], {}
    for fam in range(46):
        if fam == socket.AF_UNIX:
            continue
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW, socket.SOCK_SEQPACKET):
            r, err = syscall(41, fam, kind | socket.SOCK_CLOEXEC, 0)
            if err == 0:
                os.close(r)
                opened.append(f"{fam}/{kind}")
            else:
                refused[ename(err)] = refused.get(ename(err), 0) + 1
    if opened:
        return allowed(f"opened family/type: {opened}; refused: {refused}")
    return blocked(f"every family but AF_UNIX refused: {refused}", E.EAFNOSUPPORT if "EAFNOSUPPORT" in refused else None)


def unix_connect(path, timeout=1.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        return True, 0
    except socket.timeout:
        return False, E.ETIMEDOUT
    except OSError as e:
        return False, e.errno
    finally:
        s.close()


@probe("unix_docker_socket", what="container engine sockets (docker.sock, containerd, podman, cri-o) and any socket file on the filesystem")
def _docker_sock(ctx):
    known = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
             "/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock.ttrpc", "/run/podman/podman.sock",
             "/var/run/crio/crio.sock", "/run/dockershim.sock", "/var/run/docker/libnetwork"]
    found = set()
    deadline = time.monotonic() + 4
    for top in ("/run", "/var/run", "/var/lib", "/tmp", "/dev", "/out", "/data", "/opt", "/home", "/root", "/etc"):
        for dirpath, dirs, files in os.walk(top, onerror=lambda e: None):
            if time.monotonic() > deadline:
                break
            for name in files + dirs:
                p = os.path.join(dirpath, name)
                try:
                    if stat.S_ISSOCK(os.lstat(p).st_mode):
                        found.add(p)
                except OSError:
                    pass
    connected, notes = [], []
    for p in sorted(set(known) | found):
        if not os.path.lexists(p):
            continue
        ok, err = unix_connect(p)
        (connected if ok else notes).append(p if ok else f"{p}: {ename(err)}")
    if connected:
        return allowed(f"connected to {connected}")
    if notes:
        return blocked(f"present but unconnectable: {notes}")
    return blocked(f"no engine socket and no socket file on the filesystem ({len(known)} known paths checked)", E.ENOENT)


@probe("unix_abstract_host", what="abstract unix sockets of the host (containerd shims, X11...): /proc/net/unix plus connects")
def _abstract(ctx):
    own = f"cloister-probe-{os.getpid()}"
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    control.bind("\0" + own)
    control.listen(1)
    try:
        text = read_text("/proc/net/unix")
        names = [l.split()[7] for l in (text or "").splitlines()[1:] if len(l.split()) >= 8 and l.split()[7].startswith("@")]
        foreign = [n for n in names if n != "@" + own]
        control_seen = ("@" + own) in names
        tried = []
        for name in ["/containerd-shim/moby.sock", "/tmp/.X11-unix/X0", "ISCSIADM_ABSTRACT_NAMESPACE",
                     "/org/kernel/linux/storage/multipathd"] + [n[1:] for n in foreign[:10]]:
            ok, err = unix_connect("\0" + name)
            if ok:
                return allowed(f"connected to abstract @{name}; foreign names visible: {foreign[:10]}")
            tried.append(f"@{name} {ename(err)}")
        if text is None:
            return blocked(f"/proc/net/unix unreadable; connects: {tried}")
        if foreign:
            return allowed(f"foreign abstract sockets visible (shared network namespace): {foreign[:10]}")
        return blocked(f"no foreign abstract socket; own control socket {'listed' if control_seen else 'NOT listed'} "
                       f"in /proc/net/unix; connects: {tried}", E.ECONNREFUSED)
    finally:
        control.close()


# ---------------------------------------------------------------------------------------------------- namespaces, ids

@probe("unshare_namespaces", what="unshare(2) each namespace type (user, mnt, uts, ipc, net, pid, cgroup, time)")
def _unshare(ctx):
    results, opened = [], []
    for name, flag in NAMESPACES.items():
        def attempt(flag=flag):
            r, err = syscall("unshare", flag)
            return 0 if err == 0 else min(err, 120)
        kind, code = in_child(attempt)
        if kind == "exit" and code == 0:
            opened.append(name)
        results.append(f"{name} {ename(code) if kind == 'exit' else kind + ' ' + str(code)}")
    if opened:
        return allowed(f"new namespaces created: {opened}; all: {results}")
    codes = {c for c in (r.split()[-1] for r in results)}
    return blocked(f"refused: {results}", E.EPERM if codes == {"EPERM"} else None)


@probe("clone_namespaces", what="clone(2) with CLONE_NEWUSER|CLONE_NEWNS and CLONE_NEWNET; clone3(2) with CLONE_NEWUSER")
def _clone(ctx):
    verdicts = []
    for label, flags in (("clone NEWUSER|NEWNS", CLONE_NEWUSER | CLONE_NEWNS), ("clone NEWNET", CLONE_NEWNET)):
        def attempt(flags=flags):
            r, err = syscall("clone", flags | signal.SIGCHLD, 0, 0, 0, 0)
            if r == 0:
                os._exit(0)  # the clone: leave at once
            if err:
                return min(err, 120)
            os.waitpid(r, 0)
            return 0
        kind, code = in_child(attempt)
        verdicts.append(allowed(f"{label}: child created") if kind == "exit" and code == 0 else
                        blocked(f"{label}: {ename(code)}", code) if kind == "exit" and code in REFUSED else
                        error(f"{label}: {kind} {code}"))

    def attempt3():
        args = struct.pack("<QQQQQQQQQQQ", CLONE_NEWUSER, 0, 0, 0, signal.SIGCHLD, 0, 0, 0, 0, 0, 0)
        buf = ctypes.create_string_buffer(args, len(args))
        r, err = syscall("clone3", buf, len(args))
        if r == 0:
            os._exit(0)
        if err:
            return min(err, 120)
        os.waitpid(r, 0)
        return 0
    kind, code = in_child(attempt3)
    verdicts.append(allowed("clone3 NEWUSER: child created") if kind == "exit" and code == 0 else
                    blocked(f"clone3 NEWUSER: {ename(code)}", code) if kind == "exit" and code in REFUSED else
                    error(f"clone3 NEWUSER: {kind} {code}"))
    return worst(verdicts)


@probe("setns", what="setns(2) into the mnt, net, uts and ipc namespaces of /proc/1 (needs CAP_SYS_ADMIN)")
def _setns(ctx):
    verdicts = []
    for ns, flag in (("mnt", CLONE_NEWNS), ("net", CLONE_NEWNET), ("uts", CLONE_NEWUTS), ("ipc", CLONE_NEWIPC)):
        try:
            fd = os.open(f"/proc/1/ns/{ns}", os.O_RDONLY)
        except OSError as e:
            verdicts.append(blocked(f"open /proc/1/ns/{ns}: {ename(e.errno)}", e.errno) if e.errno in REFUSED | {E.ENOENT}
                            else error(f"open /proc/1/ns/{ns}: {ename(e.errno)}", e.errno))
            continue
        try:
            r, err = syscall("setns", fd, flag)
            verdicts.append(judge_call(f"setns {ns}", r, err))
        finally:
            os.close(fd)
    return worst(verdicts)


@probe("setuid_root", what="setuid(0), setgid(0), setgroups([0])")
def _setuid(ctx):
    verdicts = []
    for label, fn in (("setuid(0)", lambda: os.setuid(0)), ("setgid(0)", lambda: os.setgid(0)),
                      ("setgroups([0])", lambda: os.setgroups([0]))):
        try:
            fn()
            verdicts.append(allowed(f"{label} succeeded"))
        except OSError as e:
            verdicts.append(blocked(f"{label}: {ename(e.errno)}", e.errno) if e.errno in REFUSED
                            else error(f"{label}: {ename(e.errno)}", e.errno))
    return worst(verdicts)


@probe("setuid_binary", what="exec a setuid-root binary (su) and read its effective uid")
def _setuid_bin(ctx):
    candidates = []
    for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/lib/dbus-1.0", "/usr/lib/openssh"):
        try:
            for n in sorted(os.listdir(d)):
                p = os.path.join(d, n)
                st = os.stat(p)
                if stat.S_ISREG(st.st_mode) and st.st_mode & stat.S_ISUID and st.st_uid == 0:
                    candidates.append(p)
        except OSError:
            pass
    if not candidates:
        return na("no setuid-root binary in the image")
    target = next((c for c in candidates if c.endswith("/su")), candidates[0])
    argv = [target, "root", "-c", "true"] if target.endswith("/su") else [target]
    r, w = os.pipe()  # stdin that is never written: su waits for the password
    proc = subprocess.Popen(argv, stdin=r, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(r)
    uids, deadline = None, time.monotonic() + 3
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            text = read_text(f"/proc/{proc.pid}/status") or ""
            fields = dict(l.split(":", 1) for l in text.splitlines() if ":" in l)
            if fields.get("Name", "").strip() == os.path.basename(target) and "Uid" in fields:
                uids = fields["Uid"].split()
                break
            time.sleep(0.01)
    finally:
        os.close(w)
        proc.kill()
        proc.wait()
    if uids is None:
        return error(f"{target} ended before its uid could be read (setuid-root binaries: {candidates})")
    if uids[1] == "0":
        return allowed(f"{target} ran with euid 0 (Uid: {' '.join(uids)})")
    return blocked(f"{target} ran with euid {uids[1]}, not 0 (Uid: {' '.join(uids)}; NoNewPrivs "
                   f"{status_fields().get('NoNewPrivs', '?')}); {len(candidates)} setuid-root binaries in the image")


CAP_NAMES = ["chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
             "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
             "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
             "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
             "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
             "checkpoint_restore"]


@probe("capabilities", what="capability sets of the job's process (/proc/self/status)")
def _caps(ctx):
    st = status_fields()
    held = {}
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        if k in st:
            v = int(st[k], 16)
            if v:
                held[k] = [CAP_NAMES[i] if i < len(CAP_NAMES) else str(i) for i in range(64) if v >> i & 1]
    if not any(k in st for k in ("CapEff", "CapBnd")):
        return error("no capability lines in /proc/self/status")
    if held:
        return allowed(f"capabilities held: {held}")
    return blocked("every capability set is empty (" + ", ".join(f"{k} {st.get(k, '-')}" for k in
                                                                  ("CapPrm", "CapEff", "CapBnd", "CapAmb")) + ")")


@probe("no_new_privs", what="prctl(PR_GET_NO_NEW_PRIVS): can exec ever gain privileges?")
def _nnp(ctx):
    v = libc.prctl(39, 0, 0, 0, 0)
    if v == 1:
        return blocked("no_new_privs is set: setuid bits and file capabilities are ignored on exec")
    if v == 0:
        return allowed("no_new_privs is not set")
    return error(f"prctl returned {v}: {ename(ctypes.get_errno())}", ctypes.get_errno())


@probe("seccomp_filter", what="a seccomp filter is in force (/proc/self/status Seccomp)")
def _seccomp(ctx):
    st = status_fields()
    mode = st.get("Seccomp")
    if mode is None:
        return error("no Seccomp line in /proc/self/status")
    if mode == "2":
        return blocked(f"Seccomp: 2 (filter), filters: {st.get('Seccomp_filters', '?')}")
    return allowed(f"Seccomp: {mode} (no filter)")


@probe("seccomp_other_abi", what="syscalls through the x32 ABI and the i386 ABI (int 0x80), which a filter must also cover")
def _abi(ctx):
    def x32():
        r, err = syscall(0x40000000 | SYS["getpid"])
        return 0 if err == 0 else min(err, 120)

    def i386():
        code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax, 20 (getpid); int 0x80; ret
        m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        m.write(code)
        fn = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
        r = fn()
        return 0 if r == os.getpid() else 121
    verdicts = []
    for label, fn in (("x32 getpid", x32), ("i386 int 0x80 getpid", i386)):
        kind, code = in_child(fn)
        if kind == "signal":
            verdicts.append(blocked(f"{label}: killed by {signal.Signals(code).name}"))
        elif kind == "exit" and code == 0:
            verdicts.append(allowed(f"{label}: returned the pid"))
        elif kind == "exit" and code == 121:
            verdicts.append(blocked(f"{label}: returned an error, not the pid"))
        elif kind == "exit" and code in REFUSED | {E.EINVAL, E.EFAULT}:
            verdicts.append(blocked(f"{label}: {ename(code)}", code))
        else:
            verdicts.append(error(f"{label}: {kind} {code}"))
    return worst(verdicts)


# ---------------------------------------------------------------------------------------------------- kernel surface

@probe("keyctl", what="kernel keyrings: keyctl(GET_KEYRING_ID, user keyring), add_key to the process keyring")
def _keyctl(ctx):
    r1, e1 = syscall("keyctl", 0, -4, 1)  # KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, create
    r2, e2 = syscall("add_key", b"user", b"cloister-probe", b"x", 1, -2)  # KEY_SPEC_PROCESS_KEYRING
    return worst([judge_call("keyctl(GET_KEYRING_ID)", r1, e1), judge_call("add_key(user)", r2, e2)])


@probe("bpf", what="bpf(BPF_MAP_CREATE, array map) and bpf(BPF_PROG_LOAD, socket filter)")
def _bpf(ctx):
    attr = ctypes.create_string_buffer(struct.pack("<IIII", 2, 4, 4, 1), 128)
    r, err = syscall("bpf", 0, attr, 128)
    v1 = judge_call("BPF_MAP_CREATE", r, err, on_success=os.close)
    insns = ctypes.create_string_buffer(struct.pack("<BBhi", 0xb7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0))
    lic = ctypes.create_string_buffer(b"GPL")
    pattr = ctypes.create_string_buffer(struct.pack("<IIQQ", 1, 2, ctypes.addressof(insns), ctypes.addressof(lic)), 128)
    r, err = syscall("bpf", 5, pattr, 128)
    return worst([v1, judge_call("BPF_PROG_LOAD", r, err, on_success=os.close)])


@probe("perf_event_open", what="perf_event_open(2) on itself, software task clock, user space only")
def _perf(ctx):
    attr = ctypes.create_string_buffer(struct.pack("<IIQQQQQ", 1, 128, 1, 0, 0, 0, (1 << 0) | (1 << 5) | (1 << 6)), 128)
    r, err = syscall("perf_event_open", attr, 0, -1, -1, 8)
    return judge_call("perf_event_open(self, task clock)", r, err, on_success=os.close)


@probe("userfaultfd", what="userfaultfd(2), plain and UFFD_USER_MODE_ONLY")
def _uffd(ctx):
    verdicts = []
    for label, flags in (("userfaultfd(O_CLOEXEC)", os.O_CLOEXEC), ("userfaultfd(USER_MODE_ONLY)", os.O_CLOEXEC | 1)):
        r, err = syscall("userfaultfd", flags)
        verdicts.append(judge_call(label, r, err, on_success=os.close))
    return worst(verdicts)


@probe("io_uring", what="io_uring_setup(2) with one entry")
def _uring(ctx):
    params = ctypes.create_string_buffer(120)
    r, err = syscall("io_uring_setup", 1, params)
    return judge_call("io_uring_setup", r, err, on_success=os.close)


@probe("ptrace_sibling", what="PTRACE_ATTACH and PTRACE_SEIZE to a forked child, and from one child to its sibling")
def _ptrace(ctx):
    verdicts = []
    target = sleeper()
    try:
        for label, req in (("PTRACE_ATTACH child", 16), ("PTRACE_SEIZE child", 0x4206)):
            r, err = syscall("ptrace", req, target, 0, 0)
            if err == 0:
                syscall("ptrace", 17, target, 0, 0)  # PTRACE_DETACH
            verdicts.append(judge_call(label, r, err))

        def sibling():
            r, err = syscall("ptrace", 16, target, 0, 0)
            return 0 if err == 0 else min(err, 120)
        kind, code = in_child(sibling)
        verdicts.append(allowed("PTRACE_ATTACH sibling succeeded") if kind == "exit" and code == 0 else
                        blocked(f"PTRACE_ATTACH sibling: {ename(code)}", code) if kind == "exit" and code in REFUSED else
                        error(f"PTRACE_ATTACH sibling: {kind} {code}"))
    finally:
        reap(target)
    return worst(verdicts)


@probe("ptrace_traceme", what="PTRACE_TRACEME in a child")
def _traceme(ctx):
    def attempt():
        r, err = syscall("ptrace", 0, 0, 0, 0)
        return 0 if err == 0 else min(err, 120)
    kind, code = in_child(attempt)
    if kind == "exit" and code == 0:
        return allowed("PTRACE_TRACEME succeeded")
    if kind == "exit" and code in REFUSED:
        return blocked(f"PTRACE_TRACEME: {ename(code)}", code)
    return error(f"PTRACE_TRACEME: {kind} {code}")


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


@probe("process_vm_readv", what="process_vm_readv(2) of a forked child's memory")
def _pvm(ctx):
    secret = ctypes.create_string_buffer(b"cloister-secret!", 16)
    target = sleeper()
    try:
        local = ctypes.create_string_buffer(16)
        liov, riov = IoVec(ctypes.addressof(local), 16), IoVec(ctypes.addressof(secret), 16)
        r, err = syscall("process_vm_readv", target, ctypes.byref(liov), 1, ctypes.byref(riov), 1, 0)
        if err == 0:
            return allowed(f"read {r} bytes of the child's memory: {local.raw!r}")
        return judge_call("process_vm_readv", r, err)
    finally:
        reap(target)


@probe("pidfd_getfd", what="pidfd_open(2) a forked child, then pidfd_getfd(2) its stdin")
def _pidfd(ctx):
    target = sleeper()
    try:
        pfd, err = syscall("pidfd_open", target, 0)
        if err:
            return judge_call("pidfd_open", pfd, err)
        try:
            r, err = syscall("pidfd_getfd", pfd, 0, 0)
            return judge_call("pidfd_getfd (pidfd_open succeeded)", r, err, on_success=os.close)
        finally:
            os.close(pfd)
    finally:
        reap(target)


@probe("module_load", what="init_module (empty image), finit_module (a non-module file), delete_module (no such module)")
def _modules(ctx):
    # With CAP_SYS_MODULE these fail later (ENOEXEC, EINVAL, ENOENT): that would still mean the check passed.
    passed = {E.ENOEXEC, E.EINVAL, E.ENOENT, E.EBADMSG, E.EFBIG}
    verdicts = []
    empty = ctypes.create_string_buffer(64)
    for label, (r, err) in (("init_module", syscall("init_module", empty, 64, b"")),
                            ("delete_module", syscall("delete_module", b"cloister_probe_none", os.O_NONBLOCK))):
        verdicts.append(allowed(f"{label}: passed the privilege check ({ename(err)})", err) if err in passed
                        else judge_call(label, r, err))
    fd = os.open(__file__ if os.path.exists(__file__) else "/etc/hostname", os.O_RDONLY)
    try:
        r, err = syscall("finit_module", fd, b"", 0)
        verdicts.append(allowed(f"finit_module: passed the privilege check ({ename(err)})", err) if err in passed
                        else judge_call("finit_module", r, err))
    finally:
        os.close(fd)
    return worst(verdicts)


@probe("kexec_load", what="kexec_load with too many segments and kexec_file_load with bad fds (harmless even if permitted)")
def _kexec(ctx):
    verdicts = []
    r, err = syscall("kexec_load", 0, 17, 0, 0)
    verdicts.append(allowed("kexec_load passed the privilege check (EINVAL)", err) if err == E.EINVAL
                    else judge_call("kexec_load", r, err))
    r, err = syscall("kexec_file_load", -1, -1, 0, b"", 4)
    verdicts.append(allowed(f"kexec_file_load passed the privilege check ({ename(err)})", err)
                    if err in (E.EBADF, E.EINVAL) else judge_call("kexec_file_load", r, err))
    return worst(verdicts)


@probe("clock_set", what="settimeofday(NULL, NULL) (only the CAP_SYS_TIME check) and clock_settime with an invalid time")
def _clock(ctx):
    r, err = syscall("settimeofday", None, None)
    v1 = judge_call("settimeofday(NULL, NULL)", r, err)
    ts = ctypes.create_string_buffer(struct.pack("<qq", 0, 2_000_000_000))  # tv_nsec out of range: never applied
    r, err = syscall("clock_settime", 0, ts)
    if err == E.EINVAL:
        v2 = blocked("clock_settime reached the kernel, which rejected the invalid time (a valid one needs "
                     "CAP_SYS_TIME, see settimeofday)", err)
    else:
        v2 = judge_call("clock_settime(CLOCK_REALTIME)", r, err)
    return worst([v1, v2])


@probe("reboot", what="reboot(2) with invalid magic (EPERM before the magic check without CAP_SYS_BOOT)")
def _reboot(ctx):
    r, err = syscall("reboot", 0, 0, 0, 0)
    if err == E.EINVAL:
        return allowed("reboot passed the CAP_SYS_BOOT check (EINVAL for the bad magic)", err)
    return judge_call("reboot", r, err)


@probe("kernel_log", what="syslog(2) SIZE_BUFFER and READ_ALL, and reading /dev/kmsg")
def _syslog(ctx):
    verdicts = []
    r, err = syscall("syslog", 10, None, 0)
    verdicts.append(judge_call("syslog(SIZE_BUFFER)", r, err))
    buf = ctypes.create_string_buffer(256)
    r, err = syscall("syslog", 3, buf, 256)
    verdicts.append(judge_call("syslog(READ_ALL)", r, err))
    verdicts.append(read_masked("/dev/kmsg", 256) if os.path.exists("/dev/kmsg") else na("/dev/kmsg absent"))
    return worst(verdicts)


@probe("iopl_ioperm", what="iopl(3) and ioperm(0x80) (direct I/O port access)")
def _iopl(ctx):
    r1, e1 = syscall("iopl", 3)
    r2, e2 = syscall("ioperm", 0x80, 1, 1)
    return worst([judge_call("iopl(3)", r1, e1), judge_call("ioperm(0x80)", r2, e2)])


@probe("modify_ldt", what="modify_ldt(2) read")
def _ldt(ctx):
    buf = ctypes.create_string_buffer(16)
    r, err = syscall("modify_ldt", 0, buf, 16)
    return judge_call("modify_ldt(read)", r, err)


@probe("personality", what="personality(ADDR_NO_RANDOMIZE) and personality(READ_IMPLIES_EXEC)")
def _personality(ctx):
    verdicts = []
    for label, persona in (("ADDR_NO_RANDOMIZE", 0x0040000), ("READ_IMPLIES_EXEC", 0x0400000)):
        def attempt(persona=persona):
            r, err = syscall("personality", persona)
            return 0 if err == 0 else min(err, 120)
        kind, code = in_child(attempt)
        verdicts.append(allowed(f"personality({label}) accepted") if kind == "exit" and code == 0 else
                        blocked(f"personality({label}): {ename(code)}", code) if kind == "exit" and code in REFUSED else
                        error(f"personality({label}): {kind} {code}"))
    return worst(verdicts)


@probe("mmap_null_page", what="mmap a page at address 0 (kernel NULL-dereference exploits)")
def _nullpage(ctx):
    r, err = syscall("mmap", 0, 4096, 1, 0x32, -1, 0)  # PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED
    if err == 0:
        libc.munmap(ctypes.c_void_p(r), ctypes.c_size_t(4096))
        return allowed(f"page mapped at {r:#x}")
    # Linux refuses with EPERM (mmap_min_addr); gVisor's Sentry with ENOMEM (below its minimum address).
    return judge_call("mmap(0, MAP_FIXED)", r, err, refused=REFUSED | {E.ENOMEM})


@probe("open_by_handle_at", what="open_by_handle_at(2) with a guessed handle for inode 2 of the host disk ('shocker')")
def _shocker(ctx):
    handle = ctypes.create_string_buffer(struct.pack("<Ii", 8, 1) + struct.pack("<II", 2, 0))
    verdicts = []
    for mount_file in ("/etc/hostname", "/"):
        try:
            fd = os.open(mount_file, os.O_RDONLY)
        except OSError as e:
            verdicts.append(error(f"open {mount_file}: {ename(e.errno)}", e.errno))
            continue
        try:
            r, err = syscall("open_by_handle_at", fd, handle, os.O_RDONLY)
            verdicts.append(judge_call(f"open_by_handle_at(fd of {mount_file}, inode 2)", r, err, on_success=os.close)
                            if err not in (E.ESTALE, E.EINVAL, E.EOPNOTSUPP, E.ENOENT) else
                            allowed(f"open_by_handle_at({mount_file}) passed the CAP_DAC_READ_SEARCH check "
                                    f"({ename(err)})", err))
        finally:
            os.close(fd)
    return worst(verdicts)


# ---------------------------------------------------------------------------------------------------- filesystem

def scratch_dir(name):
    path = f"/tmp/{name}-{os.getpid()}"
    os.makedirs(path, exist_ok=True)
    return path


@probe("mount", what="mount(2) a tmpfs, a proc and a cgroup filesystem under /tmp")
def _mount(ctx):
    verdicts = []
    for fstype, source, data in ((b"tmpfs", b"none", None), (b"proc", b"proc", None), (b"cgroup", b"cgroup", b"memory")):
        target = scratch_dir("cloister-mnt-" + fstype.decode())
        ctypes.set_errno(0)
        r = libc.mount(source, target.encode(), fstype, 0, ctypes.c_char_p(data) if data else None)
        err = ctypes.get_errno() if r != 0 else 0
        if err == 0:
            syscall("umount2", target.encode(), 2)
        verdicts.append(judge_call(f"mount -t {fstype.decode()}", r, err))
        os.rmdir(target)
    return worst(verdicts)


@probe("fsopen", what="the new mount API: fsopen('tmpfs') and open_tree(OPEN_TREE_CLONE) of /")
def _fsopen(ctx):
    r1, e1 = syscall("fsopen", b"tmpfs", 1)  # FSOPEN_CLOEXEC
    v1 = judge_call("fsopen(tmpfs)", r1, e1, on_success=os.close)
    r2, e2 = syscall("open_tree", -100, b"/", 1 | 0o2000000)  # OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC
    return worst([v1, judge_call("open_tree(/, CLONE)", r2, e2, on_success=os.close)])


@probe("umount_masked", what="umount2(MNT_DETACH) the masks over /proc/timer_list, /proc/keys, /sys/firmware, /proc/acpi")
def _umount(ctx):
    verdicts = []
    for path in ("/proc/timer_list", "/proc/keys", "/sys/firmware", "/proc/acpi"):
        if not os.path.exists(path):
            continue
        r, err = syscall("umount2", path.encode(), 2)
        verdicts.append(judge_call(f"umount2({path})", r, err, refused=REFUSED | {E.EINVAL}) if err != E.EINVAL else
                        blocked(f"umount2({path}): EINVAL (not a mount point here)", err))
    return worst(verdicts) if verdicts else na("no masked path present")


@probe("pivot_root", what="pivot_root(2) (may_mount() comes before the path checks)")
def _pivot(ctx):
    d = scratch_dir("cloister-pivot")
    try:
        r, err = syscall("pivot_root", d.encode(), d.encode())
        if err in (E.EINVAL, E.EBUSY):
            return allowed(f"pivot_root passed the CAP_SYS_ADMIN check ({ename(err)})", err)
        return judge_call("pivot_root", r, err)
    finally:
        os.rmdir(d)


@probe("chroot", what="chroot('/tmp')")
def _chroot(ctx):
    def attempt():
        try:
            os.chroot("/tmp")
            return 0
        except OSError as e:
            return min(e.errno, 120)
    kind, code = in_child(attempt)
    if kind == "exit" and code == 0:
        return allowed("chroot succeeded")
    if kind == "exit" and code in REFUSED:
        return blocked(f"chroot: {ename(code)}", code)
    return error(f"chroot: {kind} {code}")


def try_create(path):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        if e.errno in REFUSED:
            return blocked(f"{path}: {ename(e.errno)}", e.errno)
        if e.errno == E.ENOENT:
            return na(f"{os.path.dirname(path)} absent", e.errno)
        return error(f"{path}: unexpected {ename(e.errno)}", e.errno)
    os.close(fd)
    os.unlink(path)
    return allowed(f"created {path} (removed again)")


@probe("rootfs_write", what="create files in /, /etc, /usr/bin, /usr/local/lib, /opt, /var/tmp, /run, /home, /dev")
def _rootfs(ctx):
    name = f"cloister-probe-{os.getpid()}"
    verdicts = [try_create(os.path.join(d, name)) for d in
                ("/", "/etc", "/usr/bin", "/usr/local/lib", "/opt", "/var/tmp", "/run", "/home", "/dev")]
    # Changing an existing file in place: append to /etc/passwd.
    try:
        with open("/etc/passwd", "ab"):
            pass
        verdicts.append(allowed("/etc/passwd opened for appending"))
    except OSError as e:
        verdicts.append(blocked(f"/etc/passwd append: {ename(e.errno)}", e.errno) if e.errno in REFUSED
                        else error(f"/etc/passwd append: {ename(e.errno)}", e.errno))
    return worst(v for v in verdicts if v.outcome != "not-applicable")


@probe("dataset_write", what="create a file, open one for appending and chmod one in the read-only dataset /data")
def _dataset(ctx):
    if not os.path.isdir("/data"):
        return na("no dataset mounted at /data")
    verdicts = [try_create(f"/data/cloister-probe-{os.getpid()}")]
    files = sorted(os.listdir("/data"))
    if files:
        f = os.path.join("/data", files[0])
        mode = stat.S_IMODE(os.stat(f).st_mode)
        # Neither changes anything even where permitted: an append-open writes nothing, the mode is the current one.
        for label, fn in (("append-open", lambda: open(f, "ab").close()), ("chmod (same mode)", lambda: os.chmod(f, mode))):
            try:
                fn()
                verdicts.append(allowed(f"{label} {f} succeeded"))
            except OSError as e:
                verdicts.append(blocked(f"{label} {f}: {ename(e.errno)}", e.errno) if e.errno in REFUSED
                                else error(f"{label} {f}: {ename(e.errno)}", e.errno))
    return worst(verdicts)


@probe("proc_sys_write", what="open for writing (never write) /proc/sys/kernel/core_pattern, modprobe, hostname, vm/drop_caches, net ip_forward")
def _procsys(ctx):
    return worst(open_for_write(p) for p in
                 ("/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sys/kernel/hostname",
                  "/proc/sys/vm/drop_caches", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/fs/binfmt_misc/register"))


@probe("sysrq_trigger", what="open /proc/sysrq-trigger for writing (never written)")
def _sysrq(ctx):
    return open_for_write("/proc/sysrq-trigger")


@probe("sys_write", what="open for writing (never write) /sys/kernel/uevent_helper, /sys/class/net/lo/mtu, /sys/kernel/mm/transparent_hugepage/enabled, /sys/power/state")
def _sys(ctx):
    verdicts = [open_for_write(p) for p in ("/sys/kernel/uevent_helper", "/sys/class/net/lo/mtu",
                                            "/sys/kernel/mm/transparent_hugepage/enabled", "/sys/power/state")]
    present = [v for v in verdicts if v.outcome != "not-applicable"]
    return worst(present) if present else na("none of the /sys targets exists: " + "; ".join(v.detail for v in verdicts))


@probe("cgroup_release_agent", what="open for writing (never write) release_agent, notify_on_release, cgroup.procs and the limit files of every cgroup mount")
def _cgroup(ctx):
    cg = [(mp, fs) for mp, fs, _ in mounts() if fs in ("cgroup", "cgroup2")]
    if not cg:
        return na("no cgroup filesystem mounted (mounting one: see the mount probe)")
    verdicts = []
    for mp, fs in cg:
        for name in ("release_agent", "notify_on_release", "cgroup.procs", "memory.limit_in_bytes",
                     "memory.memsw.limit_in_bytes", "pids.max", "cpu.cfs_quota_us", "memory.max", "cgroup.subtree_control"):
            p = os.path.join(mp, name)
            if os.path.exists(p):
                verdicts.append(open_for_write(p))
    if not verdicts:
        return na(f"cgroup mounts {[m for m, _ in cg]} have none of the target files")
    v = worst(verdicts)
    if v.outcome == "blocked":
        return blocked(f"{len(verdicts)} files in {len(cg)} cgroup mounts refused ({ename(v.err)}), e.g. "
                       + verdicts[0].detail, v.err)
    return v


@probe("mknod_block_device", what="mknod the host disk's block device in /tmp, /dev/shm and /out, then open it")
def _mknod(ctx):
    dev = os.stat("/etc/hostname").st_dev
    verdicts = []
    for d in ("/tmp", "/dev/shm", "/out"):
        if not os.path.isdir(d):
            continue
        p = os.path.join(d, f"cloister-blk-{os.getpid()}")
        try:
            os.mknod(p, 0o600 | stat.S_IFBLK, dev)
        except OSError as e:
            verdicts.append(blocked(f"mknod {p} ({os.major(dev)}:{os.minor(dev)}): {ename(e.errno)}", e.errno)
                            if e.errno in REFUSED else error(f"mknod {p}: unexpected {ename(e.errno)}", e.errno))
            continue
        try:
            fd = os.open(p, os.O_RDONLY)
            os.close(fd)
            verdicts.append(allowed(f"{p} ({os.major(dev)}:{os.minor(dev)}) created and opened"))
        except OSError as e:
            verdicts.append(blocked(f"{p} created but open: {ename(e.errno)} (nodev)", e.errno))
        finally:
            os.unlink(p)
    return worst(verdicts)


@probe("device_nodes", what="block devices, or host character devices beyond the standard set (mem, kmsg, kvm, vsock, fuse, tun, disks) that open read-write, in /dev")
def _devnodes(ctx):
    risky, seen = [], []
    ordinary = {"null", "zero", "full", "random", "urandom", "tty", "console", "ptmx", "pts", "shm", "mqueue", "fd",
                "stdin", "stdout", "stderr", "core", "net"}
    for dirpath, dirs, files in os.walk("/dev"):
        if dirpath.startswith(("/dev/pts", "/dev/shm", "/dev/mqueue")):
            continue
        for n in files + dirs:
            p = os.path.join(dirpath, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            seen.append(n)
            if stat.S_ISBLK(st.st_mode) or (stat.S_ISCHR(st.st_mode) and n not in ordinary):
                kind = "blk" if stat.S_ISBLK(st.st_mode) else "chr"
                try:
                    os.close(os.open(p, os.O_RDWR | os.O_NONBLOCK))
                    opened = "opens read-write"
                except OSError as e:
                    opened = f"open {ename(e.errno)}"
                risky.append((p, kind, f"{p} {kind} {os.major(st.st_rdev)}:{os.minor(st.st_rdev)} {opened}"))
    usable = [d for p, kind, d in risky if kind == "blk" or d.endswith("opens read-write")]
    if usable:
        return allowed(f"device nodes beyond the standard set: {usable}")
    if risky:
        return blocked(f"extra nodes present but none opens: {[d for _, _, d in risky]}")
    return blocked(f"only standard nodes: {sorted(set(seen))}")


@probe("tun_device", what="open /dev/net/tun and create an interface with TUNSETIFF (a network device of the job's own)")
def _tun(ctx):
    import fcntl
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR)
    except FileNotFoundError:
        return na("/dev/net/tun absent", E.ENOENT)
    except OSError as e:
        return blocked(f"open /dev/net/tun: {ename(e.errno)}", e.errno) if e.errno in REFUSED | {E.ENXIO, E.ENODEV} \
            else error(f"open /dev/net/tun: {ename(e.errno)}", e.errno)
    try:
        fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", b"cloister0", 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN|NO_PI
        return allowed("/dev/net/tun opened and TUNSETIFF created cloister0")
    except OSError as e:
        if e.errno in REFUSED:
            return blocked(f"/dev/net/tun opened, TUNSETIFF: {ename(e.errno)}", e.errno)
        return error(f"TUNSETIFF: unexpected {ename(e.errno)}", e.errno)
    finally:
        os.close(fd)


@probe("fuse_mount", what="open /dev/fuse and mount a FUSE filesystem on it")
def _fuse(ctx):
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except FileNotFoundError:
        return na("/dev/fuse absent", E.ENOENT)
    except OSError as e:
        return blocked(f"open /dev/fuse: {ename(e.errno)}", e.errno) if e.errno in REFUSED | {E.ENXIO, E.ENODEV} \
            else error(f"open /dev/fuse: {ename(e.errno)}", e.errno)
    target = scratch_dir("cloister-fuse")
    try:
        opts = f"fd={fd},rootmode=40000,user_id={os.getuid()},group_id={os.getgid()}".encode()
        ctypes.set_errno(0)
        r = libc.mount(b"cloister", target.encode(), b"fuse", 0, ctypes.c_char_p(opts))
        err = ctypes.get_errno() if r != 0 else 0
        if err == 0:
            syscall("umount2", target.encode(), 2)
        return judge_call("/dev/fuse opened; mount -t fuse", r, err)
    finally:
        os.close(fd)
        os.rmdir(target)


@probe("scratch_exec", what="exec a script written to /tmp, /dev/shm and /out (noexec)")
def _exec(ctx):
    verdicts = []
    for d in ("/tmp", "/dev/shm", "/out"):
        if not os.path.isdir(d):
            continue
        p = os.path.join(d, f"cloister-exec-{os.getpid()}")
        try:
            with open(p, "w") as f:
                f.write("#!/bin/sh\nexit 0\n")
            os.chmod(p, 0o755)
            try:
                rc = subprocess.run([p], timeout=5).returncode
                verdicts.append(allowed(f"{d}: a script written there ran (exit {rc})"))
            except PermissionError as e:
                verdicts.append(blocked(f"{d}: exec {ename(e.errno)} (noexec)", e.errno))
        except OSError as e:
            verdicts.append(blocked(f"{d}: {ename(e.errno)}", e.errno) if e.errno in REFUSED | {E.ENOSPC}
                            else error(f"{d}: {ename(e.errno)}", e.errno))
        finally:
            try:
                os.unlink(p)
            except OSError:
                pass
    return worst(verdicts)


@probe("proc_kcore", what="read /proc/kcore (physical memory as ELF)")
def _kcore(ctx):
    return read_masked("/proc/kcore", 64)


@probe("proc_keys", what="read /proc/keys (every keyring the kernel holds)")
def _pkeys(ctx):
    return read_masked("/proc/keys")


@probe("proc_timer_list", what="read /proc/timer_list (host timers, with task names and pids)")
def _timers(ctx):
    return read_masked("/proc/timer_list")


@probe("proc_sched_debug", what="read /proc/sched_debug (host scheduler state; moved to debugfs in Linux 5.13)")
def _sched(ctx):
    return read_masked("/proc/sched_debug")


@probe("proc_other_masked", what="read /proc/latency_stats, /proc/timer_stats, /proc/acpi, /proc/scsi, /proc/asound, /sys/firmware")
def _other_masked(ctx):
    verdicts = [read_masked(p) for p in ("/proc/latency_stats", "/proc/timer_stats", "/proc/acpi", "/proc/scsi",
                                          "/proc/asound", "/sys/firmware")]
    present = [v for v in verdicts if v.outcome != "not-applicable"]
    return worst(present) if present else na("none present: " + "; ".join(v.detail for v in verdicts))


@probe("proc_kallsyms", what="kernel symbol addresses in /proc/kallsyms (KASLR)")
def _kallsyms(ctx):
    text = read_text("/proc/kallsyms")
    if text is None:
        return na("/proc/kallsyms absent or unreadable")
    lines = text.splitlines()
    nonzero = [l for l in lines[:2000] if l.split() and int(l.split()[0], 16) != 0]
    if nonzero:
        return allowed(f"real kernel addresses visible, e.g. {nonzero[0]}")
    return blocked(f"{len(lines)} symbols listed, every address zeroed")


@probe("ipc_namespace", what="host System V IPC objects visible in /proc/sysvipc")
def _ipc(ctx):
    found = {}
    for kind in ("shm", "msg", "sem"):
        text = read_text(f"/proc/sysvipc/{kind}")
        if text is not None:
            found[kind] = len([l for l in text.splitlines()[1:] if l.strip()])
    if not found:
        return na("/proc/sysvipc absent")
    if any(found.values()):
        return allowed(f"System V IPC objects visible: {found}")
    return blocked(f"no System V IPC objects visible: {found}")


@probe("host_processes", what="processes outside the job's own tree (/proc, as ps reads it)")
def _procs(ctx):
    procs = {}
    for n in os.listdir("/proc"):
        if n.isdigit():
            st = read_text(f"/proc/{n}/stat")
            if st:
                comm = st[st.index("(") + 1:st.rindex(")")]
                ppid = int(st[st.rindex(")") + 2:].split()[1])
                procs[int(n)] = (comm, ppid)
    if not procs:
        return error("no process visible in /proc")
    roots = sorted(p for p, (_, pp) in procs.items() if pp == 0)
    host_like = [f"{p}:{c}" for p, (c, _) in procs.items() if c in
                 ("systemd", "init", "kthreadd", "dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2",
                  "runc", "runsc", "runsc-gofer", "runsc-sandbox", "sshd", "java", "cron", "rsyslogd")]
    listing = [f"{p}:{c}" for p, (c, _) in sorted(procs.items())][:12]
    if roots != [1] or host_like:
        return allowed(f"processes outside the job's tree: roots {roots}, {host_like}; {listing}")
    return blocked(f"{len(procs)} processes, one tree under PID 1 ({procs[1][0]}): {listing}")


# ---------------------------------------------------------------------------------------------------- resources

def fill(path, expected, source, slack=1 * MiB):
    """Writes 1 MiB chunks into path until ENOSPC or expected + margin; blocked when ENOSPC comes within the limit."""
    if not os.path.isdir(path):
        return na(f"{path} absent")
    if expected is None:
        return error(f"no expected size for {path}")
    margin = max(16 * MiB, expected // 20)
    cap = expected + margin
    chunk = b"\xa5" * MiB
    written, err, t0 = 0, None, time.monotonic()
    p = os.path.join(path, f"cloister-fill-{os.getpid()}")
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as e:
        if e.errno in REFUSED:
            return blocked(f"{path}: {ename(e.errno)}", e.errno)
        return error(f"{path}: {ename(e.errno)}", e.errno)
    try:
        while written < cap:
            try:
                n = os.write(fd, chunk)
            except OSError as e:
                err = e.errno
                break
            written += n
        try:
            os.fsync(fd)
        except OSError as e:
            err = err or e.errno
    finally:
        os.close(fd)
        os.unlink(p)
    took = time.monotonic() - t0
    summary = (f"{path}: wrote {written / MiB:.1f} MiB in {took:.1f}s, limit {expected / MiB:.0f} MiB "
               f"({source})")
    if err == E.ENOSPC or err == E.EDQUOT:
        if written <= expected + slack:
            return blocked(f"{summary}: {ename(err)} within the limit", err)
        return allowed(f"{summary}: {ename(err)} only after the limit", err)
    if err is not None:
        return error(f"{summary}: unexpected {ename(err)}", err)
    return allowed(f"{summary}: no ENOSPC up to {cap / MiB:.0f} MiB (limit + margin), stopped there")


@probe("fill_tmp", timeout=90, what="fill /tmp until ENOSPC (capped at its size + margin), then delete")
def _fill_tmp(ctx):
    return fill("/tmp", ctx.tmp, ctx.source["tmp"])


@probe("fill_shm", timeout=60, what="fill /dev/shm until ENOSPC (capped at its size + margin), then delete")
def _fill_shm(ctx):
    return fill("/dev/shm", ctx.shm, ctx.source["shm"])


@probe("fill_out", timeout=120, what="fill /out until ENOSPC (capped at its size + margin), then delete")
def _fill_out(ctx):
    return fill("/out", ctx.out, ctx.source["out"])


def on_cpu(seconds, gap=200e-6):
    """Spins for `seconds` of wall time reading the clock; returns the time it was running: the sum of the steps
    between two readings shorter than `gap`. A longer step is time the process sat descheduled (throttled by the
    cap, or preempted). Unlike rusage, this does not depend on how the runtime accounts CPU time."""
    t = time.perf_counter()
    end, running = t + seconds, 0.0
    while t < end:
        now = time.perf_counter()
        if now - t < gap:
            running += now - t
        t = now
    return running


def cpu_stat():
    text = cgroup_file("cpu", "cpu.stat")
    return {l.split()[0]: int(l.split()[1]) for l in text.splitlines()} if text else None


@probe("cpu_cap", timeout=60, what="4 processes per visible CPU spin for 2 s; CPUs they got (time on CPU, and rusage where plausible) vs the cpus cap")
def _cpu(ctx):
    if ctx.cpus is None:
        return error("no cpus limit known")
    ncpu = len(os.sched_getaffinity(0))
    if ncpu <= ctx.cpus:
        return na(f"only {ncpu} CPUs visible for a cap of {ctx.cpus}: the cap cannot be exceeded")
    # Four spinners per CPU, so that on a busy host the job's share exceeds the cap and the cap, not contention,
    # binds; under runc the cgroup's throttle count shows that it did.
    workers, seconds = min(16, max(4, 4 * ncpu)), 2.0
    stat0 = cpu_stat()
    r, w = os.pipe()
    pids, t0 = [], time.monotonic()
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.write(w, struct.pack("<d", on_cpu(seconds)))
            os._exit(0)
        pids.append(pid)
    os.close(w)
    cpu_time = 0.0
    for pid in pids:
        _, _, ru = os.wait4(pid, 0)
        cpu_time += ru.ru_utime + ru.ru_stime
    wall = time.monotonic() - t0
    with os.fdopen(r, "rb") as f:
        data = f.read()
    by_clock = sum(struct.unpack("<%dd" % (len(data) // 8), data)) / wall
    by_rusage = cpu_time / wall
    stat1 = cpu_stat()
    throttled = stat1["nr_throttled"] - stat0["nr_throttled"] if stat0 and stat1 else None
    # rusage is trustworthy under runc; gVisor's ptrace platform also counts time a task sat descheduled, which
    # can exceed what the host's CPUs could give at all: then only the time on CPU counts.
    plausible = by_rusage <= ncpu * 1.05
    used = max(by_clock, by_rusage) if plausible else by_clock
    limit = ctx.cpus * 1.15 + 0.05
    detail = (f"{workers} spinners for {wall:.2f} s got {by_clock:.2f} CPUs by time on CPU, {by_rusage:.2f} by "
              f"rusage{'' if plausible else ' (implausible: more than the host has, ignored)'}; {ncpu} CPUs "
              f"visible; cap {ctx.cpus} ({ctx.source['cpus']}), verdict at {limit:.2f}"
              + (f"; cgroup throttled {throttled} periods" if throttled is not None else ""))
    if used < 0.8 * ctx.cpus and not throttled:
        detail += "; the cap was not reached (a busy host gave less), so this run did not exercise it"
    return blocked(detail) if used <= limit else allowed(detail)


@probe("fork_bomb", timeout=60, what="fork up to 10000 waiting children within 5 s; blocked if EAGAIN comes within the pids cap")
def _forkbomb(ctx):
    before = cgroup_file("pids", "pids.current")
    r, w = os.pipe()
    children, err, t0 = [], None, time.monotonic()
    try:
        while len(children) < 10000 and time.monotonic() - t0 < 5:
            try:
                pid = os.fork()
            except OSError as e:
                err = e.errno
                break
            if pid == 0:
                os.close(w)
                try:
                    os.read(r, 1)
                finally:
                    os._exit(0)
            children.append(pid)
    finally:
        took = time.monotonic() - t0
        os.close(w)
        os.close(r)
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
    limit = ctx.pids
    detail = (f"forked {len(children)} children in {took:.1f}s before {ename(err) if err else 'stopping'}; "
              f"pids cap {limit} ({ctx.source['pids']}), {before or '?'} tasks before")
    if err in (E.EAGAIN, E.ENOMEM):
        if limit is None or len(children) <= limit:
            return blocked(detail, err)
        return allowed(detail + ": more children than the cap", err)
    if err is not None:
        return error(detail, err)
    if limit is not None and len(children) > limit:
        return allowed(detail + ": more children than the cap")
    return error(detail + ": stopped by the probe's own bound before any limit")


@probe("memory_bomb", timeout=120, what="allocate and touch up to 2x the memory limit in a child, 32 MiB at a time")
def _membomb(ctx):
    if ctx.memory is None:
        return error("no memory limit known")
    target, chunk = 2 * ctx.memory, 32 * MiB
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        hold, total = [], 0
        try:
            while total < target:
                hold.append(bytearray(b"\x5a") * chunk)
                total += chunk
                os.write(w, struct.pack("<Q", total))
            os._exit(0)
        except MemoryError:
            os._exit(12)
    os.close(w)
    reached, t0 = 0, time.monotonic()
    with os.fdopen(r, "rb") as f:
        while True:
            b = f.read(8)
            if len(b) < 8:
                break
            reached = struct.unpack("<Q", b)[0]
    _, status = os.waitpid(pid, 0)
    took = time.monotonic() - t0
    how = (f"killed by {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
           else "MemoryError" if os.WEXITSTATUS(status) == 12 else f"exit {os.WEXITSTATUS(status)}")
    detail = (f"child touched {reached / MiB:.0f} MiB in {took:.1f}s, {how}; limit {ctx.memory / MiB:.0f} MiB "
              f"({ctx.source['memory']}), target {target / MiB:.0f} MiB")
    if reached > ctx.memory:
        return allowed(detail + ": more than the limit")
    if (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL) or \
            (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 12):
        return blocked(detail)
    return error(detail)


BOMBS = ("fork_bomb", "memory_bomb")


# ---------------------------------------------------------------------------------------------------- runner

CTX = None


def run_one(name, fn, timeout):
    r, w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setpgid(0, 0)
        except OSError:
            pass
        try:
            v = fn(CTX)
            if not isinstance(v, Verdict):
                v = error(f"probe returned {v!r}")
        except Verdict as v2:
            v = v2
        except BaseException as e:  # noqa: BLE001 - any failure is the probe's own, reported as error
            v = error(f"{type(e).__name__}: {e}", getattr(e, "errno", None))
        data = json.dumps([v.outcome, v.err, v.detail]).encode()
        while data:
            n = os.write(w, data)
            data = data[n:]
        os._exit(0)
    os.close(w)
    chunks, deadline = [], t0 + timeout
    # poll, not select: under runsc 20221219 with --oci-seccomp, select(2) fails with EPERM whatever the profile.
    poller = select.poll()
    poller.register(r, select.POLLIN)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if not poller.poll(max(1, int(left * 1000))):
            continue
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    timed_out = time.monotonic() >= deadline
    if timed_out:
        for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                kill()
            except OSError:
                pass
    _, status = os.waitpid(pid, 0)
    if timed_out:
        # What a killed probe could not remove itself: fill files, scripts, device nodes, mount points.
        for d in ("/tmp", "/dev/shm", "/out"):
            try:
                names = [n for n in os.listdir(d) if n.startswith("cloister-") and n.endswith(f"-{pid}")]
            except OSError:
                continue
            for n in names:
                path = os.path.join(d, n)
                try:
                    (os.rmdir if os.path.isdir(path) else os.unlink)(path)
                except OSError:
                    pass
    took = time.monotonic() - t0
    try:
        outcome, err, detail = json.loads(b"".join(chunks))
    except ValueError:
        why = (f"timed out after {timeout:g}s" if timed_out else
               f"probe process killed by {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
               else f"probe process exited {os.WEXITSTATUS(status)} without a verdict")
        outcome, err, detail = "error", None, why
    return {"probe": name, "outcome": outcome, "errno": err, "detail": detail, "seconds": round(took, 2)}


def main(argv):
    global CTX
    only, skip = None, set()
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--only" and args:
            only = set(args.pop(0).split(","))
        elif a == "--skip" and args:
            skip = set(args.pop(0).split(","))
        elif a == "--list":
            for name, _, timeout, what in PROBES:
                print(f"{name:22} {timeout:>5.0f}s  {what}")
            return 0
        else:
            print(next(p for p in __doc__.split("\n\n") if p.startswith("Usage:")), file=sys.stderr)
            return 2
    names = {p[0] for p in PROBES}
    unknown = ((only or set()) | skip) - names
    if unknown:
        print(f"unknown probes: {sorted(unknown)}", file=sys.stderr)
        return 2
    selected = [p for p in PROBES if (only is None or p[0] in only) and p[0] not in skip]
    # Bombs last: under gVisor an overrun can end the whole sandbox.
    selected.sort(key=lambda p: p[0] in BOMBS)
    CTX = Context()
    counts, allowed_names, errors = {}, [], []
    for name, fn, timeout, _ in selected:
        if name in BOMBS:
            # Not a verdict: where an overrun ends the whole sandbox (gVisor), this line is all that shows the bomb ran.
            print(f"probe.py: {name} starting; limits {json.dumps(CTX.as_dict())}", file=sys.stderr, flush=True)
        res = run_one(name, fn, timeout)
        counts[res["outcome"]] = counts.get(res["outcome"], 0) + 1
        if res["outcome"] == "allowed":
            allowed_names.append(name)
        if res["outcome"] == "error":
            errors.append(name)
        print(json.dumps(res), flush=True)
    release = os.uname().release
    print(json.dumps({"summary": {"probes": len(selected), "outcomes": counts, "allowed": allowed_names,
                                  "errors": errors, "seconds": round(time.monotonic() - START, 1), "kernel": release,
                                  "uid": os.getuid(), "limits": CTX.as_dict()}}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
