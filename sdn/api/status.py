"""Exceptions <-> gRPC status, once for both APIs (the controller's and the NFVO's, which may
import sdn): a server interceptor that maps what a servicer raises through a table, and the
client-side decoding of the field the status names.

The status message is ``str(exc)`` (what the CLI prints). An error that names the bad element
(``.field``: NFVO errors, ``.element``: ``sdn.document.DocumentError``) also carries it as rich
status details, a ``google.rpc.BadRequest`` field violation (``field``, ``description`` = the
error's ``.message``), so a client recovers it without parsing the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

log = logging.getLogger(__name__)

StatusTable = Sequence[tuple[type[BaseException], grpc.StatusCode]]
MALFORMED = object()  # what a request that does not parse as its message type arrives as


def status_for(exc: BaseException, table: StatusTable) -> grpc.StatusCode:
    """The first entry ``exc`` is an instance of (so subclasses go before their bases); INTERNAL
    for anything unmapped: a bug, logged with its traceback."""
    for kind, code in table:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.INTERNAL


def error_field(exc: BaseException) -> str:
    """Where the error is: ``.field`` (NFVO errors) or ``.element`` (document errors), else ""."""
    for name in ("field", "element"):
        value = getattr(exc, name, "")
        if value and isinstance(value, str):
            return value
    return ""


def rich_status(code: grpc.StatusCode, message: str, exc: BaseException) -> grpc.Status:
    """``code`` and ``message``, plus a BadRequest field violation if ``exc`` names its field."""
    status = status_pb2.Status(code=code.value[0], message=message)
    field = error_field(exc)
    if field:
        description = getattr(exc, "message", None) or message
        status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=description)]))
    return rpc_status.to_status(status)


def field_violation(error: grpc.RpcError) -> tuple[str, str] | None:
    """``(field, description)`` of the first BadRequest field violation a failed call carries."""
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except (ValueError, AttributeError):  # details that disagree with the status, or not a call
        return None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            for violation in bad.field_violations:
                return violation.field, violation.description
    return None


def _lenient(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """gRPC answers bytes that do not parse with INTERNAL (a server fault); they are the
    client's, so the handler sees ``MALFORMED`` and answers INVALID_ARGUMENT instead."""
    if deserialize is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError and friends
            return MALFORMED
    return parse


class _Malformed(Exception):
    """A message of a client stream that does not parse (answered INVALID_ARGUMENT)."""


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class StatusInterceptor(grpc.ServerInterceptor):
    """Maps exceptions raised by unary, server-streaming and client-streaming servicer methods to
    statuses (bidirectional streams: none yet).

    ``describe`` makes the status message (default ``str(exc)``). Requests that do not parse
    are the client's fault: INVALID_ARGUMENT, not gRPC's INTERNAL.
    """

    def __init__(self, table: StatusTable, *, describe: Callable[[BaseException], str] = _describe) -> None:
        self.table, self.describe = table, describe

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or (handler.unary_unary is None and handler.unary_stream is None
                               and handler.stream_unary is None):
            return handler
        method = handler_call_details.method

        def fail(exc: Exception, context: grpc.ServicerContext) -> None:
            code = status_for(exc, self.table)
            if code is grpc.StatusCode.INTERNAL:
                log.exception("internal error in %s", method)
            context.abort_with_status(rich_status(code, self.describe(exc), exc))

        def check(request: Any, context: grpc.ServicerContext) -> None:
            if request is MALFORMED:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"malformed request: not a {method.rsplit('/', 1)[-1]} message")

        deserialize = _lenient(handler.request_deserializer)
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            def unary(request, context):
                check(request, context)
                try:
                    return inner(request, context)
                except Exception as exc:  # noqa: BLE001 - the one place errors are mapped
                    fail(exc, context)

            return grpc.unary_unary_rpc_method_handler(unary, request_deserializer=deserialize,
                                                       response_serializer=handler.response_serializer)
        if handler.stream_unary is not None:
            inner_client_stream = handler.stream_unary

            def client_stream(requests, context):
                def checked():
                    for request in requests:
                        if request is MALFORMED:
                            raise _Malformed(f"malformed request: not a {method.rsplit('/', 1)[-1]} message")
                        yield request
                try:
                    return inner_client_stream(checked(), context)
                except _Malformed as exc:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                except Exception as exc:  # noqa: BLE001 - the one place errors are mapped
                    fail(exc, context)

            return grpc.stream_unary_rpc_method_handler(client_stream, request_deserializer=deserialize,
                                                        response_serializer=handler.response_serializer)
        inner_stream = handler.unary_stream

        def stream(request, context):
            check(request, context)
            try:
                yield from inner_stream(request, context)
            except Exception as exc:  # noqa: BLE001 - the one place errors are mapped
                fail(exc, context)

        return grpc.unary_stream_rpc_method_handler(stream, request_deserializer=deserialize,
                                                    response_serializer=handler.response_serializer)


