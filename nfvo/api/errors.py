"""The NFVO API's table from exceptions to gRPC status codes (``sdn.api.status`` applies it,
unary and streaming alike), and its inverse for clients: status -> ``NfvoError``."""

from __future__ import annotations

import grpc
import yaml

from descriptors import DescriptorError
from nfvo import errors as nfvo_errors
from sdn.api.status import StatusInterceptor, StatusTable, field_violation
from vnfm import errors as vnfm_errors

S = grpc.StatusCode

STATUS_OF: StatusTable = (
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

# A status a peer answered, as the NfvoError a caller raises (a deadline: the peer did not answer).
ERROR_OF: dict[grpc.StatusCode, type[nfvo_errors.NfvoError]] = {
    **{code: kind for kind, code in reversed(STATUS_OF) if issubclass(kind, nfvo_errors.NfvoError)},
    S.DEADLINE_EXCEEDED: nfvo_errors.Unavailable,
}


def details_for(exc: BaseException) -> str:
    if isinstance(exc, DescriptorError):  # every issue, each with file, node.field and line
        return "; ".join(str(i) for i in exc.issues)
    return str(exc) or type(exc).__name__


class ErrorMappingInterceptor(StatusInterceptor):
    """The NFVO's interceptor: ``sdn.api.status`` with the table above, every issue of a bad
    descriptor in the message, malformed requests answered INVALID_ARGUMENT."""

    def __init__(self) -> None:
        super().__init__(STATUS_OF, describe=details_for)


def error_from_rpc(error: grpc.RpcError, where: str = "") -> nfvo_errors.NfvoError:
    """The ``NfvoError`` a failed call stands for: its class by status code (``NfvoError`` for
    codes without one), ``.field`` from the status's BadRequest details. ``str()`` of it is the
    status message (``"field: message"`` when a field is named); ``where`` (e.g. "controller")
    prefixes the ``.message``."""
    code = error.code()  # type: ignore[attr-defined]
    details = error.details() or code.name  # type: ignore[attr-defined]
    field, message = field_violation(error) or ("", details)
    return ERROR_OF.get(code, nfvo_errors.NfvoError)(f"{where}: {message}" if where else message, field)
