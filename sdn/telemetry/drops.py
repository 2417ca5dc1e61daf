"""Why a unit of input was dropped, and the typed tally of it.

A decoder returns every dropped unit (a datagram, a set, a sample or a held data set) as one
:class:`Drop` in :attr:`Decoded.drops` instead of raising, so the collector can count what it
lost between the socket and the figures and keep running on hostile input.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, NamedTuple, TypeVar

R = TypeVar("R", covariant=True)


class Drop(enum.StrEnum):
    TRUNCATED = "truncated"                      # shorter than a header or a length says
    BAD_VERSION = "bad_version"
    BAD_LENGTH = "bad_length"                    # message length field disagrees with the datagram
    BAD_SET_LENGTH = "bad_set_length"            # IPFIX set / NetFlow flowset length < 4 or past the end
    RESERVED_SET_ID = "reserved_set_id"
    BAD_TEMPLATE = "bad_template"                # malformed (options) template record: whole set dropped
    BAD_RECORD = "bad_record"                    # a variable-length field runs past its set
    UNKNOWN_TEMPLATE_EXPIRED = "unknown_template_expired"   # held data set whose template never came
    PENDING_OVERFLOW = "pending_overflow"        # held data set pushed out by newer ones
    TEMPLATE_LIMIT = "template_limit"            # too many templates in one observation domain
    DOMAIN_LIMIT = "domain_limit"                # too many (exporter, domain) pairs: new ones refused
    BAD_ADDRESS_TYPE = "bad_address_type"        # sFlow agent address type not 1 (IPv4) or 2 (IPv6)
    BAD_SAMPLE = "bad_sample"                    # sFlow sample/record whose lengths lie
    CALLBACK_ERROR = "callback_error"            # collector: the consumer raised on this datagram
    SOCKET_OVERFLOW = "socket_overflow"          # collector: kernel dropped datagrams (SO_RXQ_OVFL)


class Decoded(NamedTuple, Generic[R]):
    """What one datagram gave: records (samples, data records) and the units dropped.
    (A NamedTuple rather than a dataclass: built once per datagram by tuple's own ``__new__``.)"""

    records: tuple[R, ...] = ()
    drops: tuple[Drop, ...] = ()


@dataclass(frozen=True)
class DropCounts:
    """Dropped units by reason (a read-only snapshot; :meth:`plus` makes the next one)."""

    by_reason: Mapping[Drop, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def __getitem__(self, reason: Drop) -> int:
        return self.by_reason.get(reason, 0)

    def plus(self, drops: Iterable[Drop]) -> DropCounts:
        counts = Counter(self.by_reason)
        counts.update(drops)
        return DropCounts.of(counts)

    @staticmethod
    def of(counts: Mapping[Drop, int]) -> DropCounts:
        return DropCounts(MappingProxyType({k: v for k, v in sorted(counts.items()) if v}))

    def as_dict(self) -> dict[str, int]:
        return {str(k): v for k, v in self.by_reason.items()}
