"""One table from our exceptions to gRPC status codes, applied once by an interceptor."""

from __future__ import annotations

import json
import logging

import grpc

from sdn.document import DocumentError
from sdn.driver import ApplyError

log = logging.getLogger(__name__)

STATUS_OF: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (DocumentError, grpc.StatusCode.INVALID_ARGUMENT),
    (json.JSONDecodeError, grpc.StatusCode.INVALID_ARGUMENT),
    (ApplyError, grpc.StatusCode.ABORTED),
    (TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
)


def status_for(exc: BaseException) -> grpc.StatusCode:
    for kind, code in STATUS_OF:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.INTERNAL


class ErrorMappingInterceptor(grpc.ServerInterceptor):
    """Turns exceptions raised by unary servicer methods into proper status codes."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        def wrapped(request, context):
            try:
                return inner(request, context)
            except Exception as exc:  # noqa: BLE001 - this is the one place errors are mapped
                code = status_for(exc)
                if code is grpc.StatusCode.INTERNAL:
                    log.exception("internal error in %s", handler_call_details.method)
                context.abort(code, str(exc) or type(exc).__name__)

        return grpc.unary_unary_rpc_method_handler(
            wrapped, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
