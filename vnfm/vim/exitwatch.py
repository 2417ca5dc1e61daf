"""Notice a VDU's exit the moment it happens: one pidfd per container init, one epoll thread (I/O shell).

Why pidfds: a container's init is not our child (runc starts it detached), so neither waitpid
nor SIGCHLD tells us; a pidfd works for any process and turns readable when it exits, so an
exit reaches the manager in microseconds instead of at the next monitoring check. Why the
``alive`` check after opening: a pid from a record may have been reused; once the pidfd is
open, the VIM's (pid, start time) identity check saying "alive" proves the fd is the VDU's.
Hangs (a process that runs but does not answer) are still the monitor's business.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vnfm.model import Status, VnfRecord

log = logging.getLogger(__name__)
WATCHED = (Status.ACTIVE, Status.DEAD)


@dataclass(frozen=True)
class Watched:
    """One VDU instance's program as recorded: the pid is part of the identity (a heal makes a new one)."""

    vnf_id: str
    vdu: str
    instance: int
    key: str
    pid: int


def watched_vdus(records: Iterable[VnfRecord]) -> set[Watched]:
    """Every running VDU program of a VNF that serves (ACTIVE or DEAD) and is not known dead."""
    return {Watched(r.id, v.name, v.instance, v.key, v.pid) for r in records if r.status in WATCHED
            for v in r.vdus if v.pid and not v.dead}


class ExitWatcher:
    """``sync`` the wanted set; ``on_exit(w)`` is called from the watcher thread once per exit.

    ``alive(key)`` is the VIM's identity check. A VDU that is gone already when it is added is
    reported at once. ``on_exit`` runs without the watcher's lock held, so it may call ``sync``.
    """

    def __init__(self, alive: Callable[[str], bool], on_exit: Callable[[Watched], None]) -> None:
        self._alive, self._on_exit = alive, on_exit
        self._lock = threading.Lock()
        self._epoll = select.epoll()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._fds: dict[int, Watched] = {}
        self._by_item: dict[Watched, int] = {}
        self._gone: list[Watched] = []   # found exited while being added: reported by the thread
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="vnfm-exitwatch", daemon=True)
        self._thread.start()

    def sync(self, wanted: set[Watched]) -> None:
        with self._lock:
            if self._closed:
                return
            for item in set(self._by_item) - wanted:
                self._drop(item)
            for item in wanted - set(self._by_item):
                try:
                    fd = os.pidfd_open(item.pid)
                except ProcessLookupError:
                    self._report_later(item)
                    continue
                except OSError as exc:   # e.g. no pidfd support: the monitor's polling still applies
                    log.warning("cannot watch %s (pid %d) for exit: %s", item.key, item.pid, exc)
                    continue
                if not self._alive(item.key):
                    os.close(fd)
                    self._report_later(item)
                    continue
                self._fds[fd] = item
                self._by_item[item] = fd
                self._epoll.register(fd, select.EPOLLIN)

    def watching(self) -> set[Watched]:
        with self._lock:
            return set(self._by_item)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.write(self._wake_w, b"x")
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with self._lock:
            for item in list(self._by_item):
                self._drop(item)
            self._epoll.close()
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _report_later(self, item: Watched) -> None:  # lock held
        self._gone.append(item)
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:   # the pipe is full: the thread wakes anyway
            pass

    def _drop(self, item: Watched) -> None:  # lock held
        fd = self._by_item.pop(item)
        del self._fds[fd]
        self._epoll.unregister(fd)
        os.close(fd)

    def _run(self) -> None:
        while True:
            try:
                events = self._epoll.poll()
            except InterruptedError:
                continue
            except (OSError, ValueError):   # closed under us
                return
            exited: list[Watched] = []
            with self._lock:
                if self._closed:
                    return
                for fd, _ in events:
                    if fd == self._wake_r:
                        try:
                            while os.read(self._wake_r, 4096):
                                pass
                        except BlockingIOError:
                            pass
                        continue
                    item = self._fds.get(fd)
                    if item is not None:
                        self._drop(item)
                        exited.append(item)
                exited += self._gone
                self._gone = []
            for item in exited:
                try:
                    self._on_exit(item)
                except Exception:   # a failing handler must not end the watching
                    log.exception("exit handler for %s failed", item.key)
