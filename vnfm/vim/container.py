"""VDU containers run by runc: root filesystem mounts, the runc calls, cgroup checks (I/O shell).

Why runc and one ``--root`` per VIM: each stack lists and removes only its own containers, and a
container outlives the manager (``run -d``), as a VM outlives nova-compute. The root filesystem
is an overlay whose upper layer lives on a size-capped tmpfs under the server's workdir: what a
VDU writes never reaches the host's files and disappears with the server.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vnfm.vim import process

RUNC = "runc"
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


class ContainerError(RuntimeError):
    pass


# -- root filesystem -------------------------------------------------------------------------------
def mount_rootfs(workdir: Path, lower: Path, size_bytes: int) -> Path:
    """tmpfs ``workdir/disk`` (upper + work) and the overlay ``workdir/rootfs``; returns the latter."""
    disk, merged = workdir / "disk", workdir / "rootfs"
    disk.mkdir(exist_ok=True)
    merged.mkdir(exist_ok=True)
    _mount("tmpfs", disk, "tmpfs", 0, f"size={size_bytes},mode=755")
    (disk / "upper").mkdir()
    (disk / "work").mkdir()
    _mount("overlay", merged, "overlay", 0,
           f"lowerdir={lower},upperdir={disk / 'upper'},workdir={disk / 'work'}")
    return merged


def mounts_under(top: Path) -> list[str]:
    """Mount points at or below ``top`` (this mount namespace), deepest first."""
    prefix = str(top).rstrip("/") + "/"
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix) or point == prefix[:-1]:
                out.append(point)
    return sorted(set(out), key=lambda p: (-p.count("/"), p))


def unmount_under(top: Path) -> None:
    for point in mounts_under(top):
        if _libc.umount2(point.encode(), MNT_DETACH) != 0:
            err = ctypes.get_errno()
            if err not in (22, 2):   # EINVAL (not a mount any more), ENOENT
                raise ContainerError(f"cannot unmount {point}: {os.strerror(err)}")


def _mount(source: str, target: Path, fstype: str, flags: int, data: str) -> None:
    if _libc.mount(source.encode(), str(target).encode(), fstype.encode(), flags, data.encode()) != 0:
        err = ctypes.get_errno()
        raise ContainerError(f"mount {fstype} on {target} ({data}): {os.strerror(err)}")


# -- runc ------------------------------------------------------------------------------------------
class Runc:
    """``runc --root <root>``: one container per server key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _argv(self, *args: str) -> list[str]:
        return [RUNC, "--root", str(self.root), *args]

    def run(self, key: str, bundle: Path, console: Path) -> int:
        """Start the container detached, its stdout/stderr appended to ``console``; init's pid."""
        self.root.mkdir(parents=True, exist_ok=True)
        pid_file, runc_log = bundle / "init.pid", bundle / "runc.log"
        with open(console, "ab") as out:
            done = subprocess.run(self._argv("--log", str(runc_log), "run", "--detach", "--pid-file",
                                             str(pid_file), "--bundle", str(bundle), key),
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=False)
        if done.returncode != 0:
            raise ContainerError(f"runc run {key}: {_runc_error(runc_log)}")
        return int(pid_file.read_text())

    def remove(self, key: str) -> None:
        """Power off (SIGKILL, as nova's destroy does) and delete; idempotent."""
        if not (self.root / key).exists():
            return
        subprocess.run(self._argv("kill", key, "KILL"), capture_output=True, check=False)
        done = subprocess.run(self._argv("delete", "--force", key), capture_output=True, text=True,
                              check=False)
        if done.returncode != 0 and (self.root / key).exists():
            raise ContainerError(f"runc delete {key}: {done.stderr.strip()}")

    def exec(self, key: str, argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self._argv("exec", key, *argv), capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)

    def names(self) -> set[str]:
        if not self.root.is_dir():
            return set()
        return {p.name for p in self.root.iterdir() if p.is_dir()}


def _runc_error(log: Path) -> str:
    """The last error runc logged (its JSON-less text format: msg="...")."""
    try:
        lines = [x for x in log.read_text(errors="replace").splitlines() if "level=error" in x]
    except OSError:
        return "failed (no runc log)"
    if not lines:
        return "failed"
    line = lines[-1]
    start = line.find('msg="')
    return line[start + 5:].rsplit('"', 1)[0].replace('\\"', '"') if start >= 0 else line


# -- processes ---------------------------------------------------------------------------------
def pid_namespace(pid: int) -> tuple[int, int] | None:
    try:
        st = os.stat(f"/proc/{pid}/ns/pid")
    except OSError:
        return None
    return st.st_ino, st.st_dev


def kill_all_but_init(init: int) -> int:
    """SIGKILL every process in ``init``'s PID namespace but init (a first boot that overran);
    returns how many."""
    ns = pid_namespace(init)
    n = 0
    if ns is None:
        return 0
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != init and pid_namespace(int(entry)) == ns:
            try:
                os.kill(int(entry), signal.SIGKILL)
                n += 1
            except ProcessLookupError:
                pass
    return n


def wait_console(console: Path, done: Any, init: int, started: int | None, timeout: float,
                 what: str) -> bool:
    """Poll ``console`` until ``done(text)``; False at the deadline; ContainerError if init died."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        text = console.read_text(errors="replace") if console.exists() else ""
        if done(text):
            return True
        if not process.is_alive(init, started):
            raise ContainerError(f"the VDU exited during {what}: {text[-500:]!r}")
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)


# -- cgroups -----------------------------------------------------------------------------------
def cgroup_limits(pid: int, cpus: int | None, mem_bytes: int | None) -> str:
    """What the kernel enforces on ``pid``'s cgroup, read back (v1 or v2), as record text."""
    want = " ".join(x for x in (f"cpus={cpus}" if cpus else "",
                                f"mem={mem_bytes // 2**20}MiB" if mem_bytes else "") if x)
    if not want:
        return "no limits requested"
    groups = _own_cgroups(pid)
    missing = []
    if cpus:
        quota = _read_first((groups.get("cpu"), "cpu.cfs_quota_us"), (groups.get(""), "cpu.max"))
        if not quota or quota.split()[0] in ("-1", "max"):
            missing.append("cpu")
    if mem_bytes:
        limit = _read_first((groups.get("memory"), "memory.limit_in_bytes"), (groups.get(""), "memory.max"))
        if not limit or limit == "max" or int(limit) > mem_bytes:
            missing.append("memory")
    if missing:
        return f"{want} not enforced: no {'/'.join(missing)} limit on the container's cgroup"
    return f"{want} enforced"


def _own_cgroups(pid: int) -> dict[str, Path]:
    """controller -> the directory of ``pid``'s cgroup ("" for the v2 unified one)."""
    mounts: dict[str, tuple[Path, str]] = {}   # controller -> (mount point, root of the mount)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fstype, _, opts = right.split()[:3]
            root, point = left.split()[3:5]
            if fstype == "cgroup2":
                mounts.setdefault("", (Path(point), root))
            elif fstype == "cgroup":
                for ctl in opts.split(","):
                    mounts.setdefault(ctl, (Path(point), root))
    out = {}
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        _, ctls, path = line.split(":", 2)
        for ctl in ctls.split(",") if ctls else [""]:
            if ctl in mounts:
                point, root = mounts[ctl]
                out[ctl] = point / os.path.relpath(path, root)
    return out


def cgroup_dirs(pid: int) -> dict[str, Path]:
    """controller -> ``pid``'s cgroup directory ("" for v2): where its usage is read (vnfm.metrics)."""
    return _own_cgroups(pid)


def _read_first(*candidates: tuple[Path | None, str]) -> str | None:
    for base, name in candidates:
        if base is not None:
            try:
                return (base / name).read_text().strip()
            except OSError:
                continue
    return None


def remove_cgroup_parent(rel: str) -> None:
    """rmdir the (empty) ``rel`` group runc left under our own cgroup in every hierarchy."""
    for base in _own_cgroups(os.getpid()).values():
        try:
            (base / rel).rmdir()
        except OSError:
            pass

