"""Small host I/O the local VIM's parts share: state files written atomically (a crash leaves the
old file or the new one, never half of one) and read forgivingly, and sockets made inside a
network namespace by the calling thread alone (namespaces are per thread: setns there and
straight back, no helper process as pyroute2's create_socket forks)."""

from __future__ import annotations

import ctypes
import json
import os
import socket
from pathlib import Path
from typing import Any

from dataplane.netns import NETNS_DIR

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, doc: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(doc))


def read_text(path: Path) -> str:
    """The file's text, or "" when it is missing or unreadable."""
    try:
        return path.read_text()
    except OSError:
        return ""


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or {} when it is missing, unreadable or not JSON."""
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def enter_netns(ns: str) -> None:
    """Move this thread into network namespace ``ns`` (OSError if it cannot)."""
    target = os.open(NETNS_DIR / ns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns} failed")
    finally:
        os.close(target)


def socket_in(ns: str, family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM, proto: int = 0) -> socket.socket:
    """A socket of namespace ``ns``, created by this thread."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        enter_netns(ns)
        try:
            return socket.socket(family, kind, proto)
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise RuntimeError("cannot return to the original network namespace")
    finally:
        os.close(own)
