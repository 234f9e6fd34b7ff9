#!/usr/bin/env python3
"""Derive Cloister's training seccomp profile from Docker's default profile.

Input: Docker 20.10.24's profiles/seccomp/default.json (shipped by Debian's
golang-github-docker-docker-dev) and the x86_64 syscall table
(asm/unistd_64.h from Debian's linux-libc-dev). Output: the upstream profile
re-indented for diffing (seccomp-profiles/docker-default.json) and the
training profile (seccomp-profiles/training.json), plus two variants of it:
training-gvisor.json (jobs under runsc) and serving.json (the model server
of a serving image, which must accept TCP connections; see serving_variant).

Every tightening is a named step below with the reason it is safe for a
training job that runs with --cap-drop ALL, --network none, no-new-privileges,
a read-only root and a non-root user. deploy/seccomp/README.md has the same
list as a table, with the measurements behind it.

Standard library only. The output is a pure function of the two inputs:
no timestamps, no host facts, keys in a fixed order, 2-space indent,
trailing newline. Re-running must reproduce the committed files byte for byte.
"""

import argparse
import hashlib
import json
import os
import re
import sys

# The exact upstream file this derivation was reviewed against
# (golang-github-docker-docker-dev 20.10.24+dfsg1-1+deb12u1). If Debian ships a
# different default.json, stop: a human must re-review the derivation.
UPSTREAM_SHA256 = "e5e91f884647e7332b3f89280777752f563df4f1372a186f14ddb7bf2f55cf61"

# Docker's name for the native architecture in includes/excludes "arches".
NATIVE_ARCH = "amd64"
NATIVE_SCMP_ARCH = "SCMP_ARCH_X86_64"

EPERM = 1
ENOSYS = 38
EAFNOSUPPORT = 97

AF_UNIX = 1
FAMILY_NAMES = {1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6"}
# Families below AF_INET6 that the serving profile refuses one by one
# (linux/socket.h); every family above AF_INET6 is refused by one GT rule.
LOW_FAMILY_NAMES = {0: "AF_UNSPEC", 3: "AF_AX25", 4: "AF_IPX", 5: "AF_APPLETALK",
                    6: "AF_NETROM", 7: "AF_BRIDGE", 8: "AF_ATMPVC", 9: "AF_X25"}

# Removed from the allow-list although Docker's default allows them to every
# container. Docker-default's capability-gated blocks are removed separately
# (step 2), which is how ptrace's sibling syscalls, bpf, perf_event_open,
# unshare, setns, mount, kcmp, pidfd_getfd, process_vm_*, process_madvise and
# the NUMA memory-policy calls leave the profile.
REMOVED = {
    # io_uring: a second syscall interface whose submitted operations seccomp
    # never sees, and a long CVE record; Python, numpy, scikit-learn and
    # PyTorch's CPU paths do not use it.
    "io_uring_setup": "io_uring bypasses per-syscall filtering; not used by training stacks",
    "io_uring_enter": "io_uring bypasses per-syscall filtering; not used by training stacks",
    "io_uring_register": "io_uring bypasses per-syscall filtering; not used by training stacks",
    # ptrace: Docker allows it unconditionally on kernels >= 4.8. A job has no
    # reason to trace or poke other processes, even its own children.
    "ptrace": "no debugging or process inspection inside a training job",
    # modify_ldt: 16-bit/segmented code only (Wine, dosemu); repeated kernel bugs.
    "modify_ldt": "16-bit segment descriptors are only for legacy emulators",
    # socket/socketpair and personality are not removed but re-added below
    # with tighter argument rules.
    "socket": "re-added with an address-family allow-list",
    "socketpair": "re-added with an address-family allow-list",
    "personality": "re-added with a narrower value allow-list",
}

# Address families a training job may open. --network none already leaves only
# the loopback device, yet the family check still matters: AF_VSOCK (host
# hypervisor sockets), AF_NETLINK, AF_PACKET, AF_ALG and the rest do not go
# through the network namespace's devices at all. Measured (check-profile.sh):
# numpy, scikit-learn, threads, multiprocessing.Pool and the example job need
# only AF_UNIX, so AF_INET and AF_INET6 are closed too; that also removes the
# ICMP "ping" sockets Docker's wide net.ipv4.ping_group_range would allow.
ALLOWED_SOCKET_FAMILIES = [AF_UNIX]

# The model server (deploy/serving/app/serve.py) listens on TCP, so serving.json
# also allows AF_INET and AF_INET6 for socket(2). socketpair(2) stays AF_UNIX
# only (the kernel has no INET socketpair anyway).
SERVING_SOCKET_FAMILIES = [1, 2, 10]

# personality(2): Docker allows 0 (PER_LINUX), 8 (UNAME26), 0x20000
# (PER_LINUX32), 0x20008 and 0xffffffff (query). A 64-bit training job needs
# only the default persona and the query; UNAME26/PER_LINUX32 only change what
# uname reports. ADDR_NO_RANDOMIZE stays refused, as in Docker's default.
ALLOWED_PERSONALITY = [0x0, 0xFFFFFFFF]
PERSONA_NAMES = {0x0: "PER_LINUX", 0xFFFFFFFF: "query only"}


def fail(message):
    print("derive_training_profile: " + message, file=sys.stderr)
    sys.exit(1)


def read_syscall_table(path):
    """Return {name: number} from asm/unistd_64.h."""
    table = {}
    with open(path, encoding="utf-8") as header:
        for line in header:
            match = re.match(r"#define __NR_(\w+)\s+(\d+)\s*$", line)
            if match:
                table[match.group(1)] = int(match.group(2))
    if table.get("clone3") != 435 or table.get("ptrace") != 101:
        fail(path + " does not look like the x86_64 syscall table")
    return table


def gated_on_capability(block):
    # Cloister always runs jobs with --cap-drop ALL, so a block that Docker only
    # adds when a capability is in the bounding set never applies.
    return bool(block.get("includes", {}).get("caps"))


def applies_to_native_arch(block):
    includes = block.get("includes", {}).get("arches") or []
    excludes = block.get("excludes", {}).get("arches") or []
    if includes and NATIVE_ARCH not in includes:
        return False
    return NATIVE_ARCH not in excludes


def rule(names, action, comment, args=None, errno=None):
    """One syscall block in canonical key order; filters are never needed."""
    block = {"names": sorted(names), "action": action}
    if errno is not None:
        block["errnoRet"] = errno
    block["args"] = args or []
    block["comment"] = comment
    return block


def arg(index, op, value):
    return {"index": index, "value": value, "op": op}


def family_rules(name, families):
    """ALLOW and ERRNO(EAFNOSUPPORT) rules for socket-like syscall NAME by family.

    One ALLOW rule per allowed family with SCMP_CMP_EQ (a full 64-bit compare,
    so high garbage bits cannot smuggle a family past it); every other value
    of argument 0 fails with EAFNOSUPPORT, the errno the kernel gives for a
    family it does not support, which libraries already handle.

    Measured with runc 1.1.5 / libseccomp 2.5.4: a rule holding several
    comparisons of the same argument (NE 1, NE 2, NE 10) is NOT an AND of
    them; only the last comparison took effect and AF_UNIX and AF_INET were
    refused too. self_check() forbids such rules. So the refusals are
    disjoint single-comparison rules:
      - one allowed family: a single SCMP_CMP_NE (the training profile);
      - several: SCMP_CMP_EQ for each refused value below the largest allowed
        family, and one SCMP_CMP_GT above it (which also catches any value
        with bits set in the upper 32, since the comparison is 64-bit), as
        systemd's RestrictAddressFamilies= does.
    check_family_partition() proves that every value matches exactly one rule.
    """
    rules = [rule([name], "SCMP_ACT_ALLOW",
                  "%s: %s (%d) allowed" % (name, FAMILY_NAMES[family], family),
                  args=[arg(0, "SCMP_CMP_EQ", family)])
             for family in families]
    if len(families) == 1:
        rules.append(rule([name], "SCMP_ACT_ERRNO",
                          "%s: every other address family fails with EAFNOSUPPORT (97)" % name,
                          args=[arg(0, "SCMP_CMP_NE", families[0])], errno=EAFNOSUPPORT))
        return rules
    top = max(families)
    for value in range(top):
        if value not in families:
            rules.append(rule([name], "SCMP_ACT_ERRNO",
                              "%s: %s (%d) fails with EAFNOSUPPORT (97)" % (name, LOW_FAMILY_NAMES[value], value),
                              args=[arg(0, "SCMP_CMP_EQ", value)], errno=EAFNOSUPPORT))
    rules.append(rule([name], "SCMP_ACT_ERRNO",
                      "%s: every family above %s (%d) fails with EAFNOSUPPORT (97): AF_NETLINK, "
                      "AF_PACKET, AF_ALG, AF_VSOCK, AF_XDP, ..., and any value with upper bits set"
                      % (name, FAMILY_NAMES[top], top),
                      args=[arg(0, "SCMP_CMP_GT", top)], errno=EAFNOSUPPORT))
    return rules


# Values of argument 0 that check_family_partition() evaluates the rules on:
# every family the kernel knows and beyond, the 32-bit edges, and allowed
# families with garbage in the upper 32 bits (the kernel truncates to int).
PROBE_FAMILIES = (list(range(0, 64)) + [0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 2**64 - 1]
                  + [f | (1 << 32) for f in (1, 2, 10)] + [f | (1 << 63) for f in (1, 2, 10)])

OPS = {
    "SCMP_CMP_EQ": lambda v, d: v == d,
    "SCMP_CMP_NE": lambda v, d: v != d,
    "SCMP_CMP_GT": lambda v, d: v > d,
    "SCMP_CMP_GE": lambda v, d: v >= d,
    "SCMP_CMP_LT": lambda v, d: v < d,
    "SCMP_CMP_LE": lambda v, d: v <= d,
}


def check_family_partition(profile, name, families):
    """Every probed value matches exactly one rule of NAME; allowed iff in FAMILIES.

    Exactly one: with disjoint rules the result cannot depend on how
    libseccomp orders or merges them.
    """
    blocks = [b for b in profile["syscalls"] if b["names"] == [name]]
    if any(name in b["names"] and b["names"] != [name] for b in profile["syscalls"]):
        fail("%s must only appear in its own rules" % name)
    for block in blocks:
        if len(block["args"]) != 1 or block["args"][0]["index"] != 0 or block["args"][0]["op"] not in OPS:
            fail("%s rules must compare argument 0 once" % name)
    for value in PROBE_FAMILIES:
        matches = [b for b in blocks if OPS[b["args"][0]["op"]](value, b["args"][0]["value"])]
        if len(matches) != 1:
            fail("%s(%#x) matches %d rules, not exactly one" % (name, value, len(matches)))
        allowed = matches[0]["action"] == "SCMP_ACT_ALLOW"
        if allowed != (value in families):
            fail("%s(%#x) would be %s" % (name, value, "allowed" if allowed else "refused"))
        if not allowed and matches[0].get("errnoRet") != EAFNOSUPPORT:
            fail("%s(%#x) must fail with EAFNOSUPPORT" % (name, value))


def derive(upstream, table):
    if upstream.get("defaultAction") != "SCMP_ACT_ERRNO":
        fail("upstream defaultAction changed; review needed")

    kept = []  # (upstream index, surviving names, block)
    dropped_non_native = set()
    for index, block in enumerate(upstream["syscalls"]):
        # Step 2: capability-gated blocks never apply under --cap-drop ALL.
        if gated_on_capability(block):
            continue
        # Step 1: only the native architecture exists here.
        if not applies_to_native_arch(block):
            continue
        # Kernel-version gates only exist for ptrace (>= 4.8), removed below.
        if block.get("includes", {}).get("minKernel") or block.get("excludes", {}).get("minKernel"):
            if set(block["names"]) - set(REMOVED):
                fail("unexpected minKernel-gated block: %r" % block["names"])
            continue
        names = []
        for name in block["names"]:
            if name not in table:
                dropped_non_native.add(name)  # 32-bit and other-arch names
            elif name not in REMOVED:
                names.append(name)
        if names:
            kept.append((index, names, block))

    syscalls = []
    for index, names, block in kept:
        if block["action"] == "SCMP_ACT_ALLOW" and not block.get("args"):
            if index != 0:
                # arch_prctl: set FS/GS base; glibc needs it for thread-local
                # storage on x86_64 (Docker gates it on amd64/x32).
                syscalls.append(rule(names, "SCMP_ACT_ALLOW",
                                     "x86_64-only syscalls from Docker's arch-gated blocks"))
            else:
                syscalls.append(rule(names, "SCMP_ACT_ALLOW",
                                     "Docker 20.10.24 default allow-list: x86_64 names only, "
                                     "without io_uring_*, ptrace, modify_ldt; socket, "
                                     "socketpair and personality are narrowed below"))
        elif names == ["clone"] and block["action"] == "SCMP_ACT_ALLOW":
            # Step 4a: clone without any CLONE_NEW* namespace flag, unchanged
            # from Docker (value 0x7E020000 is the mask of those flags).
            if [a["op"] for a in block["args"]] != ["SCMP_CMP_MASKED_EQ"] or block["args"][0]["index"] != 0:
                fail("unexpected clone rule upstream")
            syscalls.append(rule(names, "SCMP_ACT_ALLOW",
                                 "clone only without CLONE_NEW* namespace flags (mask 0x7E020000), as in Docker's default",
                                 args=[dict(a) for a in block["args"]]))
        elif names == ["clone3"]:
            # Step 4b: clone3 passes its flags in memory, where seccomp cannot
            # look, so it cannot be filtered like clone. It must fail with
            # ENOSYS so that glibc falls back to clone; EPERM makes
            # pthread_create fail and numpy's import with it.
            if block.get("errnoRet") != ENOSYS:
                fail("unexpected clone3 rule upstream")
            syscalls.append(rule(names, "SCMP_ACT_ERRNO",
                                 "clone3: ENOSYS so glibc falls back to clone (EPERM breaks threads)",
                                 errno=ENOSYS))
        else:
            fail("unreviewed upstream block %d: %r" % (index, names))

    # Step 5: socket(2) and socketpair(2) by address family (argument 0); see
    # family_rules().
    for name in ("socket", "socketpair"):
        syscalls.extend(family_rules(name, ALLOWED_SOCKET_FAMILIES))

    # Step 6: personality(2) narrowed to the default persona and the query.
    for value in ALLOWED_PERSONALITY:
        syscalls.append(rule(["personality"], "SCMP_ACT_ALLOW",
                             "personality: 0x%x (%s) allowed" % (value, PERSONA_NAMES[value]),
                             args=[arg(0, "SCMP_CMP_EQ", value)]))

    profile = {
        # Step 1: everything not listed fails with EPERM. defaultErrnoRet is
        # read by Docker >= 23 and ignored by 20.10, whose default for
        # SCMP_ACT_ERRNO is EPERM too.
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        # Step 1: x86_64 only. Docker's archMap would add the x86 (int 0x80)
        # and x32 ABIs, two more syscall tables a job does not need.
        "architectures": [NATIVE_SCMP_ARCH],
        # No SECCOMP_FILTER_FLAG_*: in particular not SPEC_ALLOW, which would
        # turn off the Speculative Store Bypass mitigation seccomp enables.
        "flags": [],
        "syscalls": syscalls,
    }
    self_check(profile, table)
    check_family_partition(profile, "socket", ALLOWED_SOCKET_FAMILIES)
    check_family_partition(profile, "socketpair", ALLOWED_SOCKET_FAMILIES)
    return profile


def gvisor_variant(training):
    """The profile for jobs under gVisor (runsc --oci-seccomp).

    Measured with Debian's runsc 0.0~20221219: without --oci-seccomp runsc
    ignores the container's profile entirely; with it, the Sentry applies the
    filter to the job but ignores errnoRet, so every refused call gets EPERM.
    For clone3 EPERM would break threads (see step 4b), so clone3 is allowed
    here: gVisor does not implement clone3 and answers ENOSYS itself, which is
    exactly what glibc needs. Everything else is the training profile.
    """
    variant = json.loads(json.dumps(training))
    for block in variant["syscalls"]:
        if block["names"] == ["clone3"]:
            block["action"] = "SCMP_ACT_ALLOW"
            block.pop("errnoRet", None)
            block["comment"] = ("clone3: allowed; gVisor does not implement it and returns ENOSYS itself "
                                "(runsc ignores errnoRet, so ERRNO here would be EPERM and break threads)")
    return variant


def serving_variant(training):
    """The profile for the model server in a serving image (deploy/serving).

    The server runs like a job: --cap-drop ALL, no-new-privileges, a read-only
    root and a non-root user, but on a bridge network, listening on TCP. So
    socket(2) allows AF_INET and AF_INET6 besides AF_UNIX, by the disjoint
    rules of family_rules(); every other family (AF_NETLINK, AF_PACKET,
    AF_VSOCK, ...) still fails with EAFNOSUPPORT. socketpair(2) stays AF_UNIX
    only. Nothing else changes: bind, listen, accept4, getsockname,
    setsockopt, poll and friends are already in Docker's default allow-list,
    which the training profile keeps.
    """
    variant = json.loads(json.dumps(training))
    syscalls = variant["syscalls"]
    first = next(i for i, b in enumerate(syscalls) if b["names"] == ["socket"])
    syscalls[:] = [b for b in syscalls if b["names"] != ["socket"]]
    syscalls[first:first] = family_rules("socket", SERVING_SOCKET_FAMILIES)
    check_family_partition(variant, "socket", SERVING_SOCKET_FAMILIES)
    check_family_partition(variant, "socketpair", ALLOWED_SOCKET_FAMILIES)
    for block in syscalls:
        indexes = [a["index"] for a in block["args"]]
        if len(indexes) != len(set(indexes)):
            fail("rule for %s compares one argument twice" % block["names"])
    if allowed_names(variant) != allowed_names(training):
        fail("serving.json must allow the same syscalls as training.json")
    return variant


def allowed_names(profile):
    names = set()
    for block in profile["syscalls"]:
        if block["action"] == "SCMP_ACT_ALLOW":
            names.update(block["names"])
    return names


def self_check(profile, table):
    """Assertions that must hold whatever upstream looked like."""
    allowed = allowed_names(profile)
    must_be_absent = {
        "io_uring_setup", "io_uring_enter", "io_uring_register", "ptrace",
        "process_vm_readv", "process_vm_writev", "process_madvise", "userfaultfd",
        "perf_event_open", "bpf", "keyctl", "add_key", "request_key", "kcmp",
        "pidfd_getfd", "unshare", "setns", "mount", "umount2", "pivot_root",
        "open_by_handle_at", "name_to_handle_at", "fsopen", "fsmount", "move_mount",
        "open_tree", "init_module", "finit_module", "kexec_load", "kexec_file_load",
        "get_mempolicy", "set_mempolicy", "mbind", "modify_ldt", "iopl", "ioperm",
        "syslog", "quotactl", "reboot", "swapon", "swapoff", "acct", "chroot",
        "setdomainname", "sethostname", "lookup_dcookie", "fanotify_init",
    }
    leaked = sorted(allowed & must_be_absent)
    if leaked:
        fail("still allowed: " + ", ".join(leaked))
    unknown = sorted(n for n in allowed if n not in table)
    if unknown:
        fail("not x86_64 syscalls: " + ", ".join(unknown))
    for needed in ("clone", "arch_prctl", "futex", "mmap", "execve", "rseq", "set_robust_list"):
        if needed not in allowed:
            fail("training jobs need " + needed)
    for block in profile["syscalls"]:
        indexes = [a["index"] for a in block["args"]]
        if len(indexes) != len(set(indexes)):
            # libseccomp does not AND comparisons of the same argument.
            fail("rule for %s compares one argument twice" % block["names"])
    clone3 = [b for b in profile["syscalls"] if "clone3" in b["names"]]
    if len(clone3) != 1 or clone3[0].get("errnoRet") != ENOSYS:
        fail("clone3 must return ENOSYS")
    for block in profile["syscalls"]:
        if block["names"] in (["socket"], ["socketpair"]) and block["action"] == "SCMP_ACT_ALLOW":
            if [a["op"] for a in block["args"]] != ["SCMP_CMP_EQ"]:
                fail("socket families must be allowed by equality only")
        elif ("socket" in block["names"] or "socketpair" in block["names"]) and block["action"] == "SCMP_ACT_ALLOW":
            fail("socket allowed without a family check")


def render(document):
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="Docker's profiles/seccomp/default.json")
    parser.add_argument("--unistd", required=True, help="asm/unistd_64.h")
    parser.add_argument("--out-dir", required=True, help="seccomp-profiles directory")
    args = parser.parse_args()

    with open(args.upstream, "rb") as source:
        raw = source.read()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != UPSTREAM_SHA256:
        fail("upstream default.json has sha256 %s, reviewed %s: review the changes, "
             "then update UPSTREAM_SHA256" % (digest, UPSTREAM_SHA256))
    upstream = json.loads(raw)
    table = read_syscall_table(args.unistd)

    training = derive(upstream, table)
    write_atomically(os.path.join(args.out_dir, "docker-default.json"), render(upstream))
    write_atomically(os.path.join(args.out_dir, "training.json"), render(training))
    write_atomically(os.path.join(args.out_dir, "training-gvisor.json"), render(gvisor_variant(training)))
    write_atomically(os.path.join(args.out_dir, "serving.json"), render(serving_variant(training)))

    after = allowed_names(training)
    for label, with_caps in (("docker-default, x86_64, all capabilities", True),
                             ("docker-default, x86_64, --cap-drop ALL", False)):
        before = {n for b in upstream["syscalls"]
                  if b["action"] == "SCMP_ACT_ALLOW" and applies_to_native_arch(b)
                  and (with_caps or not gated_on_capability(b))
                  for n in b["names"] if n in table}
        print("%s: %d syscalls allowed; training.json removes %d: %s"
              % (label, len(before), len(before - after), " ".join(sorted(before - after))))
        if after - before:
            fail("training allows syscalls docker-default does not: %s" % sorted(after - before))
    print("training.json: %d syscalls allowed (socket, socketpair, clone, personality only "
          "with argument checks); clone3 -> ENOSYS" % len(after))
    print("serving.json: the same, but socket() also for AF_INET and AF_INET6; every other family "
          "-> EAFNOSUPPORT by disjoint single-comparison rules")

if __name__ == "__main__":
    main()
