"""The all-in-one stack behind ``nfv up``: private OVS, the SDN controller (its own process),
the NFVO + VNFM (this process) with SQLite stores, the image registry (rows in the VNFM's store,
root filesystems under ``<state>/images``), and the local VIM registered as default.

Everything lives in a private network namespace of this process, so a userspace OVS here
cannot collide with another; the CLI reaches the NFVO through a unix socket in the state
directory. On SIGTERM (``nfv down``) every VNF is terminated (their namespaces are named, so
they would outlive us), then the controller and OVS stop and the state directory is removed.
Several stacks can run on one host, one per state directory: VDU namespaces are global, so
each stack names them with its own prefix (``stack_prefix``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

DPID = 0xD3
BRIDGE = "nfv-br0"
PREFIX = "nfv"
DEFAULT_STATE_DIR = Path("/run/nfvchain")
READY = "nfvo ready"
log = logging.getLogger("nfvo.allinone")


def stack_prefix(state_dir: Path) -> str:
    """``nfv`` for the default stack, else ``nf`` + 4 hex digits of the state directory's path."""
    path = str(Path(state_dir).resolve())
    if path == str(DEFAULT_STATE_DIR):
        return PREFIX
    return "nf" + hashlib.sha1(path.encode()).hexdigest()[:4]


def run(state_dir: Path, stop: threading.Event) -> int:
    from dataplane import netns
    from dataplane.lab import stop_process
    from dataplane.ovs import OvsInstance
    from dataplane.ovsdb import Ovsdb
    from nfvo.api.server import serve
    from nfvo.cli.demo import start_controller_process
    from nfvo.sdnclient import GrpcSdn
    from nfvo.service import NfvoService
    from nfvo.sqlstore import SqlStore
    from vnfm.images import ImageCatalog
    from vnfm.imagestore import ImageRegistry
    from vnfm.manager import VnfManager
    from vnfm.sqlstore import VnfSqlStore
    from vnfm.vim.local import LocalVim

    netns.enter_private_netns()
    state_dir.mkdir(parents=True, exist_ok=True)
    ovs = OvsInstance(state_dir / "ovs")
    ovs.start()
    cleanup: list = [ovs.stop]
    try:
        db = Ovsdb(ovs.db_sock)
        cleanup.append(db.close)
        controller, of_port, sdn_address = start_controller_process()
        cleanup.append(lambda: stop_process(controller))
        db.ensure_bridge(BRIDGE, datapath_id=DPID, controller=f"tcp:127.0.0.1:{of_port}")
        prefix = stack_prefix(state_dir)
        vim = LocalVim(db, BRIDGE, prefix, state_dir / "vim")
        cleanup.append(vim.close)
        base = ImageCatalog().with_image("http-server", ["{python}", "-m", "http.server", "8080"])
        vnfm_store = VnfSqlStore(f"sqlite:///{state_dir / 'vnfm.db'}", prefix)
        images = ImageRegistry(vnfm_store, state_dir / "images")  # rows beside the VNFs that use them
        vnfm = VnfManager(vim, vnfm_store, prefix=prefix, catalog=base.with_registered(images.active()))
        cleanup.append(lambda: _terminate_all(vnfm))
        images.subscribe(lambda records: _set_catalog(vnfm, base.with_registered(records)))
        service = NfvoService(SqlStore(f"sqlite:///{state_dir / 'nfvo.db'}"), vnfm, GrpcSdn(sdn_address),
                              images=images)
        if not service.catalog.vims():
            service.catalog.register_vim("local", bridge=BRIDGE, dpid=DPID, is_default=True,
                                         description="this host: VDUs as containers on a private OVS")
        service.start()  # the controller gets the stored chains and every bridge's pipeline (L2 before chains)
        socket = state_dir / "nfvo.sock"
        server, _ = serve(service, f"unix:{socket}")
        cleanup.append(lambda: server.stop(2.0).wait())
        state = {"nfvo": f"unix:{socket}", "pid": os.getpid(), "sdn": sdn_address, "bridge": BRIDGE,
                 "dpid": DPID, "ovs_run_dir": str(ovs.run_dir), "prefix": prefix}
        (state_dir / "stack.json").write_text(json.dumps(state))
        print(f"{READY}: {state['nfvo']}", flush=True)
        stop.wait()
        return 0
    finally:
        for step in reversed(cleanup):
            try:
                step()
            except Exception:  # noqa: BLE001 - keep tearing down
                log.exception("teardown step failed")
        shutil.rmtree(state_dir, ignore_errors=True)


def _set_catalog(vnfm, catalog) -> None:
    """The VNFM resolves VDU images in the catalog it holds: swap in the one with the registry's
    current images (a value; an instantiate under way keeps the one it started with)."""
    vnfm.catalog = catalog


def _terminate_all(vnfm) -> None:
    for vnf in vnfm.list():
        try:
            vnfm.terminate(vnf.id)
        except Exception:  # noqa: BLE001
            log.exception("terminating %s", vnf.name)
    vnfm.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nfvo.allinone")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return run(args.state_dir, stop)


if __name__ == "__main__":
    sys.exit(main())
