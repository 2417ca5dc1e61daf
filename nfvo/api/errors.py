"""One table from our exceptions to gRPC status codes, applied once by an interceptor
(unary and streaming alike)."""

from __future__ import annotations

import logging

import grpc
import yaml

from descriptors import DescriptorError
from nfvo import errors as nfvo_errors
from vnfm import errors as vnfm_errors

log = logging.getLogger(__name__)
S = grpc.StatusCode

STATUS_OF: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (nfvo_errors.NotFound, S.NOT_FOUND),
    (nfvo_errors.AlreadyExists, S.ALREADY_EXISTS),
    (nfvo_errors.InvalidArgument, S.INVALID_ARGUMENT),
    (nfvo_errors.FailedPrecondition, S.FAILED_PRECONDITION),
    (nfvo_errors.Unavailable, S.UNAVAILABLE),
    (nfvo_errors.Aborted, S.ABORTED),
    (vnfm_errors.NotFound, S.NOT_FOUND),
    (vnfm_errors.AlreadyExists, S.ALREADY_EXISTS),
    (vnfm_errors.InvalidRequest, S.INVALID_ARGUMENT),
    (vnfm_errors.InvalidState, S.FAILED_PRECONDITION),
    (vnfm_errors.VimError, S.ABORTED),
    (DescriptorError, S.INVALID_ARGUMENT),
    (yaml.YAMLError, S.INVALID_ARGUMENT),
    (TimeoutError, S.DEADLINE_EXCEEDED),
    (nfvo_errors.NfvoError, S.UNKNOWN),
)


def status_for(exc: BaseException) -> grpc.StatusCode:
    for kind, code in STATUS_OF:
        if isinstance(exc, kind):
            return code
    return S.INTERNAL


def details_for(exc: BaseException) -> str:
    if isinstance(exc, DescriptorError):  # every issue, each with file, node.field and line
        return "; ".join(str(i) for i in exc.issues)
    return str(exc) or type(exc).__name__


MALFORMED = object()  # what a request that does not parse as its message type arrives as


def _lenient(deserialize):
    """gRPC answers bytes that do not parse with INTERNAL (a server fault); they are the
    client's, so the handler sees ``MALFORMED`` and answers INVALID_ARGUMENT instead."""
    if deserialize is None:
        return None

    def parse(data: bytes):
        try:
            return deserialize(data)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError and friends
            return MALFORMED
    return parse


class ErrorMappingInterceptor(grpc.ServerInterceptor):
    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method

        def fail(exc: Exception, context) -> None:
            code = status_for(exc)
            if code is S.INTERNAL:
                log.exception("internal error in %s", method)
            context.abort(code, details_for(exc))

        def malformed(context) -> None:
            context.abort(S.INVALID_ARGUMENT, f"malformed request: not a {method.rsplit('/', 1)[-1]} message")

        if handler.unary_unary is not None:
            inner = handler.unary_unary

            def unary(request, context):
                if request is MALFORMED:
                    malformed(context)
                try:
                    return inner(request, context)
                except Exception as exc:  # noqa: BLE001 - the one place errors are mapped
                    fail(exc, context)

            return grpc.unary_unary_rpc_method_handler(unary,
                                                       request_deserializer=_lenient(handler.request_deserializer),
                                                       response_serializer=handler.response_serializer)
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            def stream(request, context):
                if request is MALFORMED:
                    malformed(context)
                try:
                    yield from inner_stream(request, context)
                except Exception as exc:  # noqa: BLE001
                    fail(exc, context)

            return grpc.unary_stream_rpc_method_handler(stream,
                                                        request_deserializer=_lenient(handler.request_deserializer),
                                                        response_serializer=handler.response_serializer)
        return handler
