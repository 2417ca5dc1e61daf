"""The controller's gRPC API: a thin servicer over SfcController, plus health and reflection."""

from __future__ import annotations

from concurrent import futures
from typing import Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sdn.api.convert import document_message, document_value, paths_value
from sdn.api.errors import ErrorMappingInterceptor
from sdn.api.v1 import sfc_pb2, sfc_pb2_grpc
from sdn.controller import ApplyResult, SfcController
from sdn.pathstatus import PathState, PathStatus
from sdn.document import check_document

MAX_MESSAGE = 64 * 1024 * 1024
SERVICE_NAME = sfc_pb2.DESCRIPTOR.services_by_name["SfcController"].full_name


class SfcServicer(sfc_pb2_grpc.SfcControllerServicer):
    def __init__(self, controller: SfcController):
        self._controller = controller

    def ApplyDocument(self, request, context):
        doc = check_document(document_value(request.document))
        return _reply(self._controller.apply_document(doc))

    def UpsertPaths(self, request, context):
        return _reply(self._controller.upsert_paths(paths_value(request.paths), list(request.remove)))

    def GetState(self, request, context):
        doc = self._controller.document
        fn_switch = {f.name: f.instances[0].switch for f in doc.service_functions}
        return sfc_pb2.State(
            generation=self._controller.generation,
            paths=[sfc_pb2.PathSummary(name=p.name, spi=p.spi, hops=list(p.hops),
                                       classifiers=[c.name for c in p.classifiers],
                                       switch=fn_switch.get(p.hops[0], "")) for p in doc.paths],
            switches=[sfc_pb2.SwitchStatus(name=s.name, dpid=s.dpid, connected=s.connected,
                                           generation=s.generation, flows=s.flows, groups=s.groups,
                                           error=s.error, probes_error=s.probes_error)
                      for s in self._controller.status()],
            document=document_message(doc),
            path_status=[_path_status(p) for p in self._controller.path_status()])

    def DisconnectSwitch(self, request, context):
        return sfc_pb2.DisconnectSwitchReply(was_connected=self._controller.disconnect(request.dpid))

    def GetPathStatus(self, request, context):
        return sfc_pb2.PathStatusList(generation=self._controller.generation,
                                      paths=[_path_status(p) for p in self._controller.path_status(request.names)])


def _path_status(p: PathStatus) -> sfc_pb2.PathStatus:
    return sfc_pb2.PathStatus(name=p.name, switch=p.switch, condition=CONDITIONS[p.state], reason=p.reason)


CONDITIONS = {PathState.ACTIVE: sfc_pb2.PATH_ACTIVE, PathState.DEGRADED: sfc_pb2.PATH_DEGRADED,
               PathState.PENDING: sfc_pb2.PATH_PENDING, PathState.DOWN: sfc_pb2.PATH_DOWN}


def _reply(result: ApplyResult) -> sfc_pb2.ApplyReply:
    return sfc_pb2.ApplyReply(generation=result.generation, seconds=result.seconds,
                              switches=[sfc_pb2.SwitchChange(dpid=d, changes=c) for d, c in sorted(result.changes.items())])


def serve(controller: SfcController, address: str, max_workers: int = 8) -> tuple[grpc.Server, int]:
    """Start serving on ``address`` (host:port; port 0 picks one); returns (server, port).

    Health: the SfcController service is NOT_SERVING while no switch is connected (nothing it
    is asked can be acknowledged); the server as a whole ("") stays SERVING while it runs."""
    health_servicer = health.HealthServicer()
    served = start_server(address, SERVICE_NAME, lambda server: sfc_pb2_grpc.add_SfcControllerServicer_to_server(
        SfcServicer(controller), server), [ErrorMappingInterceptor()], max_workers, health_servicer=health_servicer)
    controller.watch_switches(lambda connected: health_servicer.set(
        SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING if connected else health_pb2.HealthCheckResponse.NOT_SERVING))
    return served


def start_server(address: str, service_name: str, add_servicer: Callable[[grpc.Server], None],
                 interceptors: list, max_workers: int, max_message: int = MAX_MESSAGE,
                 health_servicer: health.HealthServicer | None = None) -> tuple[grpc.Server, int]:
    """A gRPC server with a message limit, the standard health service and reflection
    (shared by the controller's and the NFVO's APIs). Both "" and ``service_name`` start
    SERVING; a caller passing its ``health_servicer`` may set ``service_name`` from then on."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), interceptors=interceptors,
                         options=[("grpc.max_receive_message_length", max_message),
                                  ("grpc.max_send_message_length", max_message)])
    add_servicer(server)
    health_servicer = health_servicer or health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((service_name, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set(service_name, health_pb2.HealthCheckResponse.SERVING)
    return server, port


def open_channel(address: str, max_message: int = MAX_MESSAGE) -> grpc.Channel:
    return grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", max_message),
                                                   ("grpc.max_send_message_length", max_message)])


def connect(address: str) -> sfc_pb2_grpc.SfcControllerStub:
    return sfc_pb2_grpc.SfcControllerStub(open_channel(address))
