"""VNFM errors: one base class so callers (nfvo, gRPC interceptor) map them in one place."""

from __future__ import annotations


class VnfmError(Exception):
    """A lifecycle request failed; the message says why (and the state is as it was)."""


class NotFound(VnfmError, LookupError):
    """No VNF with that name or id."""


class AlreadyExists(VnfmError):
    """A VNF with that name exists already."""


class InvalidRequest(VnfmError, ValueError):
    """The request or the VNFD cannot be honoured (unknown image, bad VL, scale beyond max...)."""


class InvalidState(VnfmError):
    """The operation is not allowed in the VNF's current state (e.g. terminate twice)."""


class VimError(VnfmError):
    """The VIM failed to create or delete a resource (what was half-made is rolled back)."""
