"""A VDU as an OCI runtime bundle config (pure: ContainerSpec -> config.json's dict).

Why these choices: the container stands in for a VM. It joins the network namespace the VIM made
(ports are plugged before boot, as Nova plugs VIFs), has its own mount, PID, UTS (hostname = VDU
name) and IPC namespaces, and root gets what a VM's root needs for networking (NET_ADMIN,
NET_RAW) on top of runc's defaults plus file ownership. /proc/sys is read-only except
/proc/sys/net, which is per network namespace: ``echo 1 > /proc/sys/net/ipv4/ip_forward``
works and never touches the host. /tmp and /run are fresh tmpfs, as after a boot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

OCI_VERSION = "1.0.2"
PERIOD_US = 100_000
# runc's default set (``runc spec``) + NET_ADMIN/NET_RAW for networking + what root uses to
# manage files of other users (as Docker's default set does).
CAPABILITIES = ("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW",
                "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_SETUID",
                "CAP_SETGID", "CAP_SETPCAP", "CAP_SYS_CHROOT", "CAP_SETFCAP")
MASKED = ("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi")
READONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sysrq-trigger")
FRESH_TMPFS = (("/run", "755"), ("/tmp", "1777"))  # mounted empty in every container, as after a boot
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Bind:
    source: str
    destination: str
    readonly: bool = True


@dataclass(frozen=True)
class ContainerSpec:
    """What one VDU container is. ``proc_sys``: the entries of the host's /proc/sys (each but
    ``net`` is made read-only; runc refuses a mount inside /proc, so /proc/sys itself cannot be
    read-only with net writable). ``cgroups_path`` relative: under runc's own cgroup."""

    hostname: str
    netns: str                     # /var/run/netns/<key>
    rootfs: str                    # the merged overlay directory
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    binds: tuple[Bind, ...] = ()
    proc_sys: tuple[str, ...] = ()
    cpus: int | None = None
    mem_bytes: int | None = None
    cgroups_path: str | None = None
    tmpfs_bytes: int = 64 * 2**20  # /tmp and /run each
    cwd: str = "/"


def bundle_config(spec: ContainerSpec) -> dict[str, Any]:
    """The bundle's config.json (OCI runtime spec 1.0)."""
    caps = list(CAPABILITIES)
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        *({"destination": d, "type": "tmpfs", "source": "tmpfs",
           "options": ["nosuid", "nodev", f"mode={mode}", f"size={spec.tmpfs_bytes}"]}
          for d, mode in FRESH_TMPFS),
        *({"destination": b.destination, "type": "bind", "source": b.source,
           "options": ["rbind", "ro" if b.readonly else "rw", "nosuid", "nodev"]} for b in spec.binds),
    ]
    resources: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
    if spec.cpus:
        resources["cpu"] = {"quota": spec.cpus * PERIOD_US, "period": PERIOD_US}
    if spec.mem_bytes:
        resources["memory"] = {"limit": spec.mem_bytes}
    linux: dict[str, Any] = {
        "namespaces": [{"type": "pid"}, {"type": "network", "path": spec.netns}, {"type": "ipc"},
                       {"type": "uts"}, {"type": "mount"}],
        "resources": resources,
        "maskedPaths": list(MASKED),
        "readonlyPaths": [*READONLY, *(f"/proc/sys/{e}" for e in sorted(spec.proc_sys) if e != "net")],
    }
    if spec.cgroups_path:
        linux["cgroupsPath"] = spec.cgroups_path
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0}, "args": list(spec.args),
            "env": [f"{k}={v}" for k, v in {"PATH": PATH, "TERM": "dumb", "HOME": "/root", **spec.env}.items()],
            "cwd": spec.cwd,
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
        },
        "root": {"path": spec.rootfs, "readonly": False},
        "hostname": spec.hostname,
        "mounts": mounts,
        "linux": linux,
    }
