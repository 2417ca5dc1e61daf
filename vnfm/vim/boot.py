"""How the local VIM boots a server: its container from an image, first boot, the program ready.

A server's "VM" is a runc container (``vnfm.vim.container``): the image's root filesystem mounted
copy-on-write in the server's workdir, the first-boot files (user_data, config drive) written
beside it (``vnfm.vim.firstboot``), an OCI bundle (``vnfm.vim.oci``) joining the server's network
namespace, then ``runc run --detach`` and a bounded wait for first boot and the program's ready
line on its console. Kept apart from ``vnfm.vim.local``, which places servers on hosts and wires
their ports.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dataplane import netns
from vnfm.errors import VimError
from vnfm.images import HOST_ROOTFS, render_argv
from vnfm.vim import container, firstboot, hostio, process, rootfs
from vnfm.vim.base import ServerRequest
from vnfm.vim.oci import FRESH_TMPFS, Bind, ContainerSpec, bundle_config

READY_TIMEOUT = 15.0
REPO = Path(__file__).resolve().parents[2]   # the code SF images run ({python} -m dataplane.sf)


@dataclass(frozen=True)
class Booted:
    pid: int               # the container's init
    started: int | None    # its start time (a pid reused later is not it)
    boot: str              # what first boot said (firstboot.describe)
    limits: str            # the cgroup limits in force


def boot(req: ServerRequest, workdir: Path, volume: str | None, *, runc: container.Runc, images_dir: Path,
         root_disk_bytes: int, cgroup_parent: str, boot_timeout: float) -> Booted:
    """Mount the root filesystem, write the first-boot files and the bundle, start the container
    and wait (bounded) for first boot and the program's ready line. VimError naming the image."""
    lower = rootfs.lower_dir(req.rootfs, images_dir)
    merged = container.mount_rootfs(workdir, lower, root_disk_bytes)
    cloud = workdir / "cloud"
    for rel, (text, mode) in firstboot.boot_files(req.user_data, req.config).items():
        path = cloud / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    program = render_argv(req.argv, {**req.values, "workdir": str(workdir), "volume": volume or ""}) \
        if req.argv else None
    env = {"NFV_SERVER": req.key, "NFV_WORKDIR": str(workdir), "PYTHONPATH": str(REPO)}
    binds = [Bind(str(cloud), firstboot.CLOUD_DIR, readonly=False), Bind(str(workdir), str(workdir), False)]
    if volume:
        env["NFV_VOLUME"] = volume
        binds.append(Bind(volume, volume, False))
    if req.rootfs == HOST_ROOTFS:
        binds += host_binds()
    spec = ContainerSpec(req.values.get("vdu") or req.key, str(netns.NETNS_DIR / req.key), str(merged),
                         firstboot.boot_argv(program), env, tuple(binds), tuple(os.listdir("/proc/sys")),
                         req.cpus, req.mem_bytes, f"{cgroup_parent}/{req.key}", cwd=str(workdir))
    hostio.write_json(workdir / "config.json", bundle_config(spec))
    log = workdir / "console.log"
    t0 = time.monotonic()
    try:
        pid = runc.run(req.key, workdir, log)
        started = process.start_time(pid)
        finished = container.wait_console(log, lambda t: firstboot.boot_result(t)[0], pid, started,
                                          boot_timeout, "first boot")
        took = time.monotonic() - t0
        if not finished:            # cut the user_data so the program starts
            container.kill_all_but_init(pid)
            container.wait_console(log, lambda t: firstboot.boot_result(t)[0], pid, started, 2.0,
                                   "first boot")
        status = firstboot.boot_result(log.read_text(errors="replace"))[1]
        described = firstboot.describe(finished, status, took, user_data=bool(req.user_data))
        if req.ready and program and not container.wait_console(
                log, lambda t: any(x.startswith(req.ready or "") for x in firstboot.after_boot(t).splitlines()),
                pid, started, READY_TIMEOUT, "startup"):
            raise container.ContainerError(f"{list(program)} not ready after {READY_TIMEOUT}s: "
                                           f"{log.read_text(errors='replace')[-500:]!r}")
    except container.ContainerError as exc:
        raise VimError(f"image {req.image}: {exc}") from exc
    return Booted(pid, started, described, container.cgroup_limits(pid, req.cpus, req.mem_bytes))


def host_binds() -> list[Bind]:
    """The ``host`` image sees the root filesystem only, with /tmp and /run fresh: the code and
    interpreter SF images run are bound in (read-only) when they live on another filesystem or
    under one of those (a checkout in /tmp)."""
    root_dev = os.stat("/").st_dev
    dirs = {str(REPO), sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    hidden = tuple(d + "/" for d, _ in FRESH_TMPFS)
    return [Bind(d, d) for d in sorted(dirs)
            if os.path.isdir(d) and (os.stat(d).st_dev != root_dev or (d + "/").startswith(hidden))]
