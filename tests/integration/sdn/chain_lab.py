"""A running controller (os-ken + gRPC, in this process) and a bridge connected to it."""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass
from typing import Iterator

from sdn.api.server import serve
from sdn.osken_runtime import start_controller
from sdn.controller import SfcController


@dataclass
class RunningController:
    driver: object
    controller: SfcController
    openflow_port: int
    grpc_address: str

    def wait_for_switch(self, dpid: int, ports: set[str] = frozenset(), timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.driver.switches().get(dpid)
            if info is not None and ports <= set(info.ports):
                return
            time.sleep(0.05)
        raise AssertionError(f"switch {dpid:#x} with ports {sorted(ports)} did not connect")


@contextlib.contextmanager
def running_controller(timeout: float = 10.0, listen_host: str = "127.0.0.1") -> Iterator[RunningController]:
    driver, stop = start_controller(listen_host, 0, echo_interval=1.0, echo_timeout=3.0)
    try:
        controller = SfcController(driver, timeout=timeout)
        try:
            server, port = serve(controller, "127.0.0.1:0")
            try:
                yield RunningController(driver, controller, driver.listen_port, f"127.0.0.1:{port}")
            finally:
                server.stop(None)
        finally:
            controller.stop()
    finally:
        stop()


def new_dpid() -> int:
    return int.from_bytes(secrets.token_bytes(6), "big") | 1
