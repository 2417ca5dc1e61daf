"""``SdnPort`` over the controller's gRPC API (the only way the NFVO reaches the controller)."""

from __future__ import annotations

from typing import Sequence

import grpc

from nfvo.api.errors import error_from_rpc
from nfvo.errors import Unavailable
from sdn.api.convert import document_message, path_message
from sdn.api.server import connect
from sdn.api.v1 import sfc_pb2
from sdn.document import ServicePath, SfcDocument


class GrpcSdn:
    def __init__(self, address: str, timeout: float = 30.0):
        self.address = address
        self._stub = connect(address)
        self._timeout = timeout

    def apply_document(self, document: SfcDocument) -> int:
        request = sfc_pb2.ApplyDocumentRequest(document=document_message(document))
        return self._call(self._stub.ApplyDocument, request).generation

    def upsert_paths(self, paths: Sequence[ServicePath], remove: Sequence[str]) -> int:
        request = sfc_pb2.UpsertPathsRequest(paths=[path_message(p) for p in paths], remove=list(remove))
        return self._call(self._stub.UpsertPaths, request).generation

    def _call(self, method, request):
        try:
            return method(request, timeout=self._timeout)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(f"SDN controller at {self.address}: {exc.details() or exc.code().name}") from None
            raise error_from_rpc(exc, "controller") from None
