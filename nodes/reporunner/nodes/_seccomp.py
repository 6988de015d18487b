"""The seccomp filter of the code sandbox, compiled with libseccomp (through ``ctypes``).

The filter runs in the *worker* only to build a BPF program; bubblewrap installs it (``--seccomp
FD``) on the sandboxed interpreter just before ``execve``. It allows everything except what a
sandboxed function never needs and an escape would: sockets of any family, ``fork``/``vfork``
and ``clone`` without ``CLONE_THREAD`` (threads stay possible for V8; Python gets no ``clone``
at all), ``clone3`` (answered ``ENOSYS`` so libc falls back to ``clone``), namespaces, mounts,
``ptrace``, kernel keyrings, BPF, perf, io_uring, userfaultfd and ``execveat``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os

from reporunner.nodes.errors import ConfigurationError

__all__ = ["filter_bpf"]

_ALLOW = 0x7FFF0000
_CLONE_THREAD = 0x00010000
_MASKED_EQ = 7

_DENIED = (
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "sendto",
    "sendmsg",
    "sendmmsg",
    "recvfrom",
    "recvmsg",
    "recvmmsg",
    "fork",
    "vfork",
    "execveat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "personality",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "mknod",
    "mknodat",
    "open_by_handle_at",
    "name_to_handle_at",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "syslog",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "settimeofday",
    "clock_settime",
    "quotactl",
    "fanotify_init",
)


class _Cmp(ctypes.Structure):
    _fields_ = (
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    )


def _errno(code: int) -> int:
    return 0x00050000 | code


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as err:
        raise ConfigurationError(
            "the code nodes need libseccomp (Debian: apt-get install libseccomp2)"
        ) from err
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


@functools.cache
def filter_bpf(*, threads: bool) -> bytes:
    """The BPF program (x86-64/aarch64, the worker's own architecture).

    Args:
        threads: Allow ``clone`` with ``CLONE_THREAD`` (V8 needs worker threads; CPython's
            guest does not, so its filter refuses every ``clone``).

    Raises:
        ConfigurationError: libseccomp is not installed or refused a rule.
    """
    lib = _library()
    ctx = lib.seccomp_init(_ALLOW)
    if not ctx:
        raise ConfigurationError("libseccomp could not create a filter")
    try:
        plain = lib.seccomp_rule_add
        plain.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
        for name in _DENIED:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                continue  # not a system call on this architecture
            if plain(ctx, _errno(errno.EPERM), number, 0) != 0:
                raise ConfigurationError(f"libseccomp refused the rule for {name}")
        clone = lib.seccomp_syscall_resolve_name(b"clone")
        if threads:
            masked = ctypes.CFUNCTYPE(
                ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, _Cmp
            )(("seccomp_rule_add", lib))
            rule = _Cmp(0, _MASKED_EQ, _CLONE_THREAD, 0)
            if masked(ctx, _errno(errno.EPERM), clone, 1, rule) != 0:
                raise ConfigurationError("libseccomp refused the rule for clone")
        elif plain(ctx, _errno(errno.EPERM), clone, 0) != 0:
            raise ConfigurationError("libseccomp refused the rule for clone")
        clone3 = lib.seccomp_syscall_resolve_name(b"clone3")
        if clone3 >= 0 and plain(ctx, _errno(errno.ENOSYS), clone3, 0) != 0:
            raise ConfigurationError("libseccomp refused the rule for clone3")
        read_fd, write_fd = os.pipe()
        try:
            if lib.seccomp_export_bpf(ctx, write_fd) != 0:
                raise ConfigurationError("libseccomp could not export the filter")
            os.close(write_fd)
            write_fd = -1
            chunks = []
            while chunk := os.read(read_fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
    finally:
        lib.seccomp_release(ctx)
