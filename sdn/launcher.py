"""``nfv-sdn``: the SDN controller process (os-ken on native threads + its gRPC API)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

DEFAULT_OPENFLOW = "127.0.0.1:6653"
DEFAULT_GRPC = "127.0.0.1:50061"
DEFAULT_STATE_FILE = "/var/lib/nfvchain/sdn-state.pb"


def split_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nfv-sdn", description="nfvchain SDN controller")
    parser.add_argument("--openflow", default=DEFAULT_OPENFLOW, type=split_address,
                        help=f"where switches connect (default {DEFAULT_OPENFLOW})")
    parser.add_argument("--openflow-fd", type=int, default=None,
                        help="an inherited, bound OpenFlow listening socket to accept on (kept open by the "
                             "supervisor across restarts, so switches reconnect at once); --openflow then only names it")
    parser.add_argument("--grpc", default=DEFAULT_GRPC, help=f"the controller API (default {DEFAULT_GRPC})")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a switch has to acknowledge")
    parser.add_argument("--state-file", default=DEFAULT_STATE_FILE,
                        help="where the applied document is kept across restarts ('' to keep none; "
                             "default %(default)s)")
    parser.add_argument("--log-level", default="INFO")
    return parser


def run(args: argparse.Namespace, stop_event: threading.Event) -> int:
    # The OpenFlow listener first: a restarted controller's switches reconnect (and shake hands)
    # while it reads its state file and imports the gRPC server.
    from sdn.osken_runtime import start_controller

    host, port = args.openflow
    listening = None
    if args.openflow_fd is not None:
        import socket

        listening = socket.socket(fileno=args.openflow_fd)
    driver, stop_openflow = start_controller(host, port, listening=listening)
    if listening is not None:
        listening.close()   # the runtime holds its own copy
    controller = None
    try:
        from sdn.controller import SfcController

        controller = SfcController(driver, timeout=args.timeout,
                                   state_file=Path(args.state_file) if args.state_file else None)
        from sdn.api.server import serve

        server, grpc_port = serve(controller, args.grpc)
        print(f"nfv-sdn ready: openflow {host}:{driver.listen_port} grpc {args.grpc.rpartition(':')[0]}:{grpc_port}",
              flush=True)
        stop_event.wait()
        server.stop(2.0).wait()
    finally:
        if controller is not None:
            controller.stop()  # the switch workers, before their connections go
        stop_openflow()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop_event = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop_event.set())
    return run(args, stop_event)


if __name__ == "__main__":
    sys.exit(main())
