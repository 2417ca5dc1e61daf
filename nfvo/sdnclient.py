"""``SdnPort`` over the controller's gRPC API (the only way the NFVO reaches the controller)."""

from __future__ import annotations

from typing import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nfvo.api.errors import error_from_rpc
from nfvo.errors import Unavailable
from sdn.api.convert import document_message, path_message
from sdn.api.server import CONDITIONS, SERVICE_NAME, open_channel
from sdn.api.v1 import sfc_pb2, sfc_pb2_grpc
from sdn.pathstatus import PathState, PathStatus
from sdn.document import ServicePath, SfcDocument

STATUS_TIMEOUT = 5.0  # status reads answer at once (no switch is awaited): a slow one is a sick controller
_STATES = {condition: state for state, condition in CONDITIONS.items()}
_STATES[sfc_pb2.PATH_CONDITION_UNSPECIFIED] = PathState.PENDING


class GrpcSdn:
    def __init__(self, address: str, timeout: float = 30.0):
        self.address = address
        channel = open_channel(address)
        self._stub = sfc_pb2_grpc.SfcControllerStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)
        self._timeout = timeout

    def apply_document(self, document: SfcDocument) -> int:
        request = sfc_pb2.ApplyDocumentRequest(document=document_message(document))
        return self._call(self._stub.ApplyDocument, request).generation

    def upsert_paths(self, paths: Sequence[ServicePath], remove: Sequence[str]) -> int:
        request = sfc_pb2.UpsertPathsRequest(paths=[path_message(p) for p in paths], remove=list(remove))
        return self._call(self._stub.UpsertPaths, request).generation

    def path_status(self, names: Sequence[str] = ()) -> dict[str, PathStatus]:
        """What the controller says of each path (``names``; none: all), by path name."""
        reply = self._call(self._stub.GetPathStatus, sfc_pb2.GetPathStatusRequest(names=list(names)), STATUS_TIMEOUT)
        return {p.name: PathStatus(p.name, p.switch, _STATES[p.condition], p.reason) for p in reply.paths}

    def connected(self) -> set[int]:
        """The dpids of the switches whose OpenFlow connection the controller holds."""
        reply = self._call(self._stub.GetState, sfc_pb2.GetStateRequest(), STATUS_TIMEOUT)
        return {s.dpid for s in reply.switches if s.connected}

    def disconnect(self, dpid: int) -> bool:
        """Have the controller drop switch ``dpid`` (its host fenced: dead); whether it held it."""
        request = sfc_pb2.DisconnectSwitchRequest(dpid=dpid)
        return self._call(self._stub.DisconnectSwitch, request, STATUS_TIMEOUT).was_connected

    def serving(self) -> bool:
        """Whether the controller's health service says SERVING (a switch is connected);
        Unavailable when it cannot be reached."""
        reply = self._call(self._health.Check, health_pb2.HealthCheckRequest(service=SERVICE_NAME), STATUS_TIMEOUT)
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def _call(self, method, request, timeout: float | None = None):
        try:
            return method(request, timeout=timeout or self._timeout)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(f"SDN controller at {self.address}: {exc.details() or exc.code().name}") from None
            raise error_from_rpc(exc, "controller") from None
