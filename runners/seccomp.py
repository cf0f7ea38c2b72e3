"""The sandbox's seccomp filter (bubblewrap's `--seccomp FD`): a compiled BPF program, built once per
process with libseccomp (through `pyseccomp`), that refuses with EPERM the kernel calls Docker's
default profile refuses an unprivileged container; everything else is allowed, and a refused call
is an error the program sees and can go on from."""

from __future__ import annotations

import contextlib
import errno
import functools
import tempfile

from runners.archive import memory_file

CLONE_NEWUSER = 0x10000000

DENIED = (
    # kernel surface an ordinary program never needs, and where most local privilege escalations live
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd",
    "ptrace", "process_vm_readv", "process_vm_writev",
    # mounts and namespaces (new user namespaces: see USER_NAMESPACE below)
    "mount", "umount2", "pivot_root", "setns", "open_by_handle_at", "name_to_handle_at",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    # the machine's own settings
    "init_module", "finit_module", "delete_module",
    "clock_settime", "clock_adjtime", "settimeofday", "adjtimex",
    "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
    "acct", "quotactl", "syslog", "vhangup", "iopl", "ioperm", "uselib", "lookup_dcookie",
)  # fmt: skip


class SeccompUnavailable(RuntimeError):
    pass


@functools.cache
def filter_bpf() -> bytes:
    """The compiled filter for this machine's architecture (calls of any other ABI kill the process)."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as error:  # OSError: libseccomp2 itself is missing
        raise SeccompUnavailable(
            f"the sandbox's seccomp filter needs libseccomp2 and pyseccomp ({error}): run scripts/start"
        ) from error
    deny = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in DENIED:
        with contextlib.suppress(ValueError, RuntimeError, OSError):  # a call this architecture lacks
            rules.add_rule(deny, name)
    # USER_NAMESPACE: no new user namespace, whether by unshare or by clone (clone3's flags are behind a
    # pointer a filter cannot read: it answers ENOSYS, and the C library falls back to clone).
    for name in ("unshare", "clone"):
        rules.add_rule(deny, name, seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as compiled:
        rules.export_bpf(compiled)
        compiled.seek(0)
        bpf = compiled.read()
    if not bpf or len(bpf) % 8:  # struct sock_filter is 8 bytes
        raise SeccompUnavailable("libseccomp compiled an empty or malformed seccomp filter")
    return bpf


def available() -> bool:
    try:
        filter_bpf()
    except SeccompUnavailable:
        return False
    return True


def filter_fd() -> int:
    """A fresh descriptor bubblewrap reads the filter from (each sandbox reads its own)."""
    return memory_file("seccomp", filter_bpf())
