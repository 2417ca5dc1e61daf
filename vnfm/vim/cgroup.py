"""cgroup v2 limits for VDU processes (``nfv_compute``: num_cpus -> cpu.max, mem_size ->
memory.max), or a plain "not enforced: <why>" where the kernel/container does not let us.

Why optional: containers and hybrid (v1) hosts often expose no writable v2 hierarchy with the
cpu and memory controllers; a VNF still runs there, it just says its flavor is advisory.
"""

from __future__ import annotations

import os
from pathlib import Path

PERIOD_US = 100_000


class Cgroups:
    """One parent group ``<root>/<group>``; a child per server key."""

    def __init__(self, group: str, root: Path = Path("/sys/fs/cgroup")) -> None:
        self.root = Path(root)
        self.parent = self.root / group
        self._why: str | None = None
        self._checked = False

    def unavailable(self) -> str | None:
        """None when limits can be enforced, else the reason (checked once)."""
        if not self._checked:
            self._checked = True
            self._why = self._check()
        return self._why

    def _check(self) -> str | None:
        ctl = self.root / "cgroup.controllers"
        if not ctl.exists():
            return f"{self.root} is not a cgroup v2 hierarchy"
        have = set(ctl.read_text().split())
        if not {"cpu", "memory"} <= have:
            return f"cgroup v2 at {self.root} lacks cpu/memory controllers (has {sorted(have)})"
        if not os.access(self.root, os.W_OK):
            return f"{self.root} is not writable"
        try:
            _write(self.root / "cgroup.subtree_control", "+cpu +memory")
            self.parent.mkdir(exist_ok=True)
            _write(self.parent / "cgroup.subtree_control", "+cpu +memory")
        except OSError as exc:
            return f"cannot enable cpu/memory controllers: {exc}"
        return None

    def create(self, key: str, cpus: int | None, mem_bytes: int | None) -> tuple[Path | None, str]:
        """(group dir or None, limits text for the record)."""
        want = " ".join(x for x in (f"cpus={cpus}" if cpus else "",
                                    f"mem={mem_bytes // 2**20}MiB" if mem_bytes else "") if x)
        if not want:
            return None, "no limits requested"
        why = self.unavailable()
        if why:
            return None, f"{want} not enforced: {why}"
        path = self.parent / key
        path.mkdir(exist_ok=True)
        if cpus:
            _write(path / "cpu.max", f"{cpus * PERIOD_US} {PERIOD_US}")
        if mem_bytes:
            _write(path / "memory.max", str(mem_bytes))
        return path, f"{want} enforced"

    def remove(self, key: str) -> None:
        _rmdir_group(self.parent / key)
        if self.parent.is_dir() and not any(p.is_dir() for p in self.parent.iterdir()):
            _rmdir_group(self.parent)

    def keys(self) -> set[str]:
        if not self.parent.is_dir():
            return set()
        return {p.name for p in self.parent.iterdir() if p.is_dir()}


def _write(path: Path, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _rmdir_group(path: Path) -> None:
    """rmdir a cgroup (its interface files go with it); a plain directory (tests' fake
    hierarchy) needs its files removed first. A busy group stays (reported by keys())."""
    if not path.is_dir():
        return
    try:
        path.rmdir()
        return
    except OSError:
        pass
    try:
        for child in path.iterdir():
            if child.is_file():
                child.unlink()
        path.rmdir()
    except OSError:
        pass
