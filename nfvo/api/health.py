"""The NFVO's status watch: VNFFG status follows the controller, health follows its reachability.

One thread per served NFVO, living as long as its gRPC server: every ``interval`` it asks the
controller about the chains' paths (``VnffgManager.refresh_status``), so a chain whose switch
disconnects or whose SF port goes turns DEGRADED/ERROR and back by itself, with a watch event
each time. While the controller cannot be reached the Nfvo service reports NOT_SERVING on the
standard gRPC health service (the server itself, "", stays SERVING: it answers).
"""

from __future__ import annotations

import logging
import threading

import grpc
from grpc_health.v1 import health, health_pb2

from nfvo.errors import Unavailable
from nfvo.service import NfvoService

log = logging.getLogger(__name__)
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def poll_once(service: NfvoService, health_servicer: health.HealthServicer, service_name: str) -> bool:
    """One round: chain statuses from the controller; health says whether it answered."""
    try:
        service.engine.controller_serving()
        service.vnffgs.refresh_status()
    except Unavailable as exc:
        health_servicer.set(service_name, NOT_SERVING)
        log.warning("status watch: %s", exc)
        return False
    except Exception:  # noqa: BLE001 - the watch must outlive a bad round
        log.exception("status watch round failed")
    health_servicer.set(service_name, SERVING)
    return True


def watch_status(server: grpc.Server, service: NfvoService, health_servicer: health.HealthServicer,
                 service_name: str, interval: float = 1.0) -> threading.Thread:
    """Poll until ``server`` terminates (its wait_for_termination times out while it runs)."""
    def run() -> None:
        while server.wait_for_termination(interval):
            poll_once(service, health_servicer, service_name)

    thread = threading.Thread(target=run, name="nfvo-status-watch", daemon=True)
    thread.start()
    return thread
