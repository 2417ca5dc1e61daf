"""The one exception -> status mechanism (``sdn.api.status``), unary and streaming, and its
client-side inverse (``nfvo.api.errors.error_from_rpc``): the field travels as BadRequest details."""

from __future__ import annotations

from concurrent import futures

import grpc
import pytest

from nfvo.api.errors import STATUS_OF as NFVO_STATUS_OF
from nfvo.api.errors import error_from_rpc
from nfvo.errors import FailedPrecondition, InvalidArgument, NotFound
from sdn.api.errors import STATUS_OF as SDN_STATUS_OF
from sdn.api.status import StatusInterceptor, field_violation
from sdn.document import DocumentError

SERVICE = "test.Status"


@pytest.fixture
def call():
    """``call(exc, stream=False)`` raises ``exc`` in a servicer behind the NFVO's and the
    controller's tables; returns the client's RpcError."""
    raised: list[BaseException] = []

    def unary(request, context):
        raise raised[0]

    def stream(request, context):
        yield b"first"
        raise raised[0]

    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream)})
    server = grpc.server(futures.ThreadPoolExecutor(2),
                         interceptors=[StatusInterceptor((*SDN_STATUS_OF, *NFVO_STATUS_OF))])
    server.add_generic_rpc_handlers([handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")

    def run(exc: BaseException, stream: bool = False) -> grpc.RpcError:
        raised[:] = [exc]
        with pytest.raises(grpc.RpcError) as info:
            if stream:
                list(channel.unary_stream(f"/{SERVICE}/Stream")(b"", timeout=10))
            else:
                channel.unary_unary(f"/{SERVICE}/Unary")(b"", timeout=10)
        return info.value

    yield run
    channel.close()
    server.stop(None)


@pytest.mark.parametrize("stream", [False, True])
def test_the_field_travels_as_bad_request_details(call, stream: bool) -> None:
    error = call(InvalidArgument("unknown match field 'tcp_dsst'", "vnffg[g].classifiers[c].match"), stream)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "vnffg[g].classifiers[c].match: unknown match field 'tcp_dsst'"
    assert field_violation(error) == ("vnffg[g].classifiers[c].match", "unknown match field 'tcp_dsst'")
    back = error_from_rpc(error)
    assert type(back) is InvalidArgument and back.field == "vnffg[g].classifiers[c].match"
    assert str(back) == error.details() and back.message == "unknown match field 'tcp_dsst'"


def test_each_code_comes_back_as_its_error_and_plain_errors_have_no_field(call) -> None:
    error = call(NotFound("no VNF 'x'"))
    assert (error.code(), field_violation(error)) == (grpc.StatusCode.NOT_FOUND, None)
    back = error_from_rpc(error, "controller")
    assert type(back) is NotFound and back.field == "" and str(back) == "controller: no VNF 'x'"
    assert type(error_from_rpc(call(FailedPrecondition("VNF x not ACTIVE", "hops[0]")))) is FailedPrecondition


def test_document_errors_name_their_element(call) -> None:
    error = call(DocumentError("paths[p].hops[0]", "unknown function 'fw'"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "paths[p].hops[0]: unknown function 'fw'"
    assert field_violation(error)[0] == "paths[p].hops[0]"


def test_unmapped_exceptions_are_internal(call) -> None:
    assert call(KeyError("bug")).code() == grpc.StatusCode.INTERNAL
