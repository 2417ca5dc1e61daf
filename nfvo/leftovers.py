"""What ``nfv down`` removes when the stack did not stop by itself (its supervisor was killed,
or died before it could stop the rest): found on the host, not taken from a record that a crash
may have left stale.

The stack's own things are recognised by name: its daemons whose command line names the state
directory (the supervisor, the NFVO, the controller's state file, OVS's run directory, dnsmasq's
files), runc containers under ``<state>/vim/runc``, network namespaces and links starting with
the stack's prefix (``nfvo.allinone.stack_prefix``: the VDUs', the DHCP servers', the stack's
own ``<prefix>-stack`` and, with ``--hosts N``, the compute hosts' and the rack's, whose names
``nfvo.computehosts`` derives from the same prefix and each host's number, also for hosts added
by ``nfv host add`` under a name of their own; every process in them too), mounts under the state
directory, the VDUs' cgroup parent, then the state directory and its log file.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

from nfvo.supervision import Found


# what the stack runs itself (a shell or an editor with a file of the state directory open is left alone)
DAEMONS = frozenset({"supervisor", "nfvo", "controller", "ovsdb-server", "ovs-vswitchd", "dnsmasq"})


def stack_processes(state_dir: Path, exclude: set[int]) -> dict[int, str]:
    """pid -> a short label, for every daemon of the stack (its arguments name a path in ``state_dir``)."""
    top = re.escape(str(Path(state_dir).resolve()))
    names_it = re.compile(rf"(^|[=:]){top}(/|$)")
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in exclude:
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if state != "Z" and args and any(names_it.search(a) for a in args) and _label(args) in DAEMONS:
            out[int(entry)] = _label(args)
    return out


def _label(args: list[str]) -> str:
    if "-m" in args[:-1]:
        module = args[args.index("-m") + 1]
        return {"nfvo.supervisor": "supervisor", "nfvo.allinone": "nfvo", "sdn.launcher": "controller"}.get(module, module)
    return Path(args[0]).name


def ancestors() -> set[int]:
    """This process and its parents (never killed: ``nfv down`` may run under a test naming the directory)."""
    out, pid = set(), os.getpid()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def kill_all(pids: dict[int, str], timeout: float = 5.0) -> None:
    """SIGKILL (what is left after a crash gets no say), then wait until they are gone."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_running(p) for p in pids):
        time.sleep(0.02)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def sweep(state_dir: Path, prefix: str) -> list[Found]:
    """Remove every remain of the stack in ``state_dir``; what was found, in removal order."""
    from dataplane import netns
    from vnfm.vim import container, process

    state_dir = Path(state_dir).resolve()
    found: list[Found] = []
    procs = stack_processes(state_dir, ancestors())
    kill_all(procs)          # the supervisor among them: nothing restarts what follows
    found += [Found("process", f"{label} (pid {pid})") for pid, label in sorted(procs.items())]
    runc = container.Runc(state_dir / "vim" / "runc")
    for key in sorted(runc.names()):
        runc.remove(key)
        found.append(Found("container", key))
    for ns in netns.list_netns():
        if ns.startswith(prefix):
            inside = process.pids_in_netns(ns)
            process.stop(inside)
            netns.delete_netns(ns)
            found.append(Found("namespace", ns + (f" ({len(inside)} processes)" if inside else "")))
    for link in netns.list_links():
        if link.startswith(prefix):
            netns.delete_link(link, missing_ok=True)
            found.append(Found("link", link))
    mounts = container.mounts_under(state_dir) if state_dir.is_dir() else []
    if mounts:
        container.unmount_under(state_dir)
        found += [Found("mount", m) for m in mounts]
    cgroups = _cgroups(f"nfvchain-{prefix}")
    for group in cgroups:
        for child in sorted(group.iterdir(), reverse=True):
            if child.is_dir():
                _rmdir(child)
        _rmdir(group)
    if cgroups:
        found.append(Found("cgroup", f"nfvchain-{prefix} ({len(cgroups)} hierarchies)"))
    for path in (state_dir, state_dir.with_name(state_dir.name + ".log")):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            found.append(Found("directory", str(path)))
        elif path.exists():
            path.unlink()
            found.append(Found("directory", f"{path} (log)"))
    return found


def _cgroups(rel: str) -> list[Path]:
    from vnfm.vim.container import cgroup_dirs

    return [base / rel for base in cgroup_dirs(os.getpid()).values() if (base / rel).is_dir()]


def _rmdir(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
