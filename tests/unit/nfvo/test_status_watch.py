"""The NFVO's status watch: VNFFG status follows the controller's path status; health follows
whether the controller answers (the real controller logic on an in-memory switch, over gRPC)."""

from __future__ import annotations

from grpc_health.v1 import health, health_pb2

from nfvo.api.health import poll_once
from nfvo.api.server import SERVICE_NAME
from nfvo.vnffg.render import RenderedChain
from nfvo.vnffg.status import CONTROLLER, chain_status, watched
from sdn.pathstatus import PathState, PathStatus
from tests.unit.nfvo.conftest import make_stack

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def chain(*paths: str, degraded: tuple[str, ...] = ()) -> RenderedChain:
    from sdn.document import ServicePath
    return RenderedChain("A", (), tuple(ServicePath(p, i + 1, ("f",)) for i, p in enumerate(paths)), degraded=degraded)


def test_every_path_held_is_active_one_down_is_degraded_all_down_is_error():
    two = chain("A/p", "A/q")
    ok = PathStatus("A/p", "s", PathState.ACTIVE)
    down = PathStatus("A/q", "s", PathState.DOWN, "switch s (dpid 0x1) is not connected")
    assert chain_status(two, {"A/p": ok, "A/q": PathStatus("A/q", "s", PathState.ACTIVE)}) == ("ACTIVE", "")
    status, reason = chain_status(two, {"A/p": ok, "A/q": down})
    assert status == "DEGRADED" and reason == f"{CONTROLLER}path A/q down: switch s (dpid 0x1) is not connected"
    status, reason = chain_status(chain("A/q"), {"A/q": down})
    assert status == "ERROR" and reason.startswith(CONTROLLER) and watched(status, reason)
    assert not watched("ERROR", "heal failed: timed out") and not watched("PENDING_UPDATE", "")
    render = chain("A/p", degraded=("hop cnt: 1 of 2 instances dead",))
    assert chain_status(render, {"A/p": ok}) == ("DEGRADED", "hop cnt: 1 of 2 instances dead")


def test_health_is_not_serving_while_the_controller_cannot_be_reached(tmp_path, sdn_server):
    servicer = health.HealthServicer()
    check = health_pb2.HealthCheckRequest(service=SERVICE_NAME)
    unreachable = make_stack(tmp_path, sdn_address="127.0.0.1:1")
    assert not poll_once(unreachable.nfvo, servicer, SERVICE_NAME)
    assert servicer.Check(check, None).status == NOT_SERVING
    (tmp_path / "b").mkdir()
    reachable = make_stack(tmp_path / "b", sdn_address=sdn_server[3])
    assert poll_once(reachable.nfvo, servicer, SERVICE_NAME)
    assert servicer.Check(check, None).status == SERVING
    unreachable.vnfm.close()
    reachable.vnfm.close()
