"""NFVO errors: one base class, one subclass per gRPC status (mapped once, in nfvo.api.errors).

``field`` names the bad element as a path (``vnffg[mychain].classifiers[myclass].match.tcp_dst``)
so a client can point at it; ``message`` is the text without it. The API sends both as a
BadRequest field violation (``sdn.api.status``); ``nfvo.api.errors.error_from_rpc`` recovers them.
"""

from __future__ import annotations


class NfvoError(Exception):
    """A request failed; nothing was stored or half-built."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(f"{field}: {message}" if field else message)
        self.message, self.field = message, field


class NotFound(NfvoError, LookupError):
    """No resource with that name or id."""


class AlreadyExists(NfvoError):
    """A resource with that name (or an SPI, a classifier name...) exists already."""


class InvalidArgument(NfvoError, ValueError):
    """The request itself is malformed (bad match string, wrong type, unknown field)."""


class FailedPrecondition(NfvoError):
    """The request is well formed but the system is not in a state to honour it
    (VNF not ACTIVE, VNFD still in use, NSH-unaware hop, no classifier in_port)."""


class Unavailable(NfvoError):
    """A peer (the SDN controller, the VIM) did not answer."""


class Aborted(NfvoError):
    """A peer refused the change (a switch rejected the flows); the old state stays in force."""
