"""The controller API's table from exceptions to gRPC status codes (``sdn.api.status`` applies it)."""

from __future__ import annotations

import grpc

from sdn.api.status import StatusInterceptor, StatusTable
from sdn.document import DocumentError
from sdn.driver import ApplyError

STATUS_OF: StatusTable = (
    (DocumentError, grpc.StatusCode.INVALID_ARGUMENT),
    (ApplyError, grpc.StatusCode.ABORTED),
    (TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
)


class ErrorMappingInterceptor(StatusInterceptor):
    """The controller's interceptor: ``sdn.api.status`` with the table above."""

    def __init__(self) -> None:
        super().__init__(STATUS_OF)
