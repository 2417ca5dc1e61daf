"""Observation ids that tag each OVS IPFIX ``sample()`` action with the path and hop (pure).

OVS 3.1's IPFIX exports no NSH fields, so the flows themselves say where a record was taken:
every classify, hop and end-of-path flow carries ``sample(probability, collector_set_id,
obs_domain_id, obs_point_id)``; OVS puts ``obs_domain_id`` in the IPFIX message header
(observation domain) and ``obs_point_id`` in each record (``observationPointId``, IE 138).

Layout (both 32 bits, most significant first)::

    obs_domain_id   | 0x4E ('N') 8 | role 4 | rate_log2 4 | switch 16 |
    obs_point_id    |           spi 24           |     si 8     |

- The marker byte 0x4E says "an nfvchain observation point": a foreign exporter's domain ids
  (a physical switch, softflowd) are not read as paths unless they carry it by accident.
- ``role``: where on the path the flow sits (:class:`Role`).
- ``rate_log2``: the action samples one packet in ``2**rate_log2`` (probability
  ``65535 >> rate_log2``), so a record is self-describing: 0 means every packet (exact
  counts), otherwise counts are scaled up (estimated). OVS exports no probability itself.
- ``switch``: a 16-bit tag of the SFF (the low 16 bits of its datapath id), for diagnostics:
  (SPI, SI, role) alone names the point. A path across compute hosts has each hop's points on
  its SF's switch, except hop-in of an SF whose instances sit on several switches: sampled where
  its slot table picks the instance, the switch handing the SI on (``sdn.spread``; each packet
  once, the switches add up); each switch exports from its own address, so every (exporter,
  domain) keeps its own templates.
- ``si`` is the SI of the hop the point is about: 255 for classify, the hop's own SI for
  hop-in (the SI the SF receives) and hop-out (the hop it came back from, whatever SI the packet
  now carries), the path's end SI for end-of-path.

Putting the role in the domain keeps the point id exactly ``spi << 8 | si`` (a full 24-bit SPI
leaves no spare bits there) -- what an operator reads off a record. But OVS 3.1 sends an
exporter's templates once per 600 s, in a message for *one* observation domain (whichever
record it was exporting then), so data in a second domain of the same exporter arrives without
templates for ten minutes. Hence one exporter per domain: a bridge has one
Flow_Sample_Collector_Set per role, ids ``base + role - 1`` (:func:`collector_set_ids`), all
on the same IPFIX row, and one sampling rate per bridge.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MARKER = 0x4E
ALL_PACKETS = 65535                # OVS: sampled packets out of 65535
MAX_SPI = (1 << 24) - 1
MAX_RATE_LOG2 = 15
SWITCH_MASK = 0xFFFF


class Role(enum.IntEnum):
    """Where an observation point sits on a path (RFC 7665 terms)."""

    CLASSIFY = 1     # the classifier admitted the packet (before NSH: the record has its 5-tuple)
    HOP_IN = 2       # the SFF hands the packet to the SF of hop ``si``
    HOP_OUT = 3      # the packet came back from the SF of hop ``si`` (NSH-unaware: re-classified)
    END = 4          # the path's end: NSH comes off

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class ObservationPoint:
    spi: int
    si: int
    role: Role
    switch: int = 0                # 16-bit SFF tag
    rate_log2: int = 0             # 1 in 2**rate_log2 packets sampled

    def __post_init__(self) -> None:
        if not 0 <= self.spi <= MAX_SPI:
            raise ValueError(f"observation point: spi {self.spi} is not in 0..{MAX_SPI}")
        if not 0 <= self.si <= 255:
            raise ValueError(f"observation point: si {self.si} is not in 0..255")
        if not 0 <= self.switch <= SWITCH_MASK:
            raise ValueError(f"observation point: switch tag {self.switch} is not in 0..{SWITCH_MASK}")
        if not 0 <= self.rate_log2 <= MAX_RATE_LOG2:
            raise ValueError(f"observation point: rate_log2 {self.rate_log2} is not in 0..{MAX_RATE_LOG2}")

    @property
    def exact(self) -> bool:
        return self.rate_log2 == 0

    @property
    def probability(self) -> int:
        return ALL_PACKETS >> self.rate_log2

    @property
    def scale(self) -> float:
        """How many packets one sampled packet stands for."""
        return ALL_PACKETS / self.probability

    @property
    def domain_id(self) -> int:
        return MARKER << 24 | int(self.role) << 20 | self.rate_log2 << 16 | self.switch

    @property
    def point_id(self) -> int:
        return self.spi << 8 | self.si


def switch_tag(dpid: int) -> int:
    """The 16-bit tag of a switch in the domain id."""
    return dpid & SWITCH_MASK


def encode(point: ObservationPoint) -> tuple[int, int]:
    """(obs_domain_id, obs_point_id) of a point."""
    return point.domain_id, point.point_id


def decode(domain_id: int, point_id: int) -> ObservationPoint | None:
    """The point an (observation domain, observationPointId) pair names, None when it is not
    one of ours (no marker, unknown role, or out of range); never raises."""
    if not (0 <= domain_id <= 0xFFFFFFFF and 0 <= point_id <= 0xFFFFFFFF) or domain_id >> 24 != MARKER:
        return None
    try:
        role = Role(domain_id >> 20 & 0xF)
    except ValueError:
        return None
    return ObservationPoint(point_id >> 8, point_id & 0xFF, role, domain_id & SWITCH_MASK, domain_id >> 16 & 0xF)


@dataclass(frozen=True, slots=True)
class SampleParams:
    """The values of one OVS ``sample()`` action (the action class itself lives in sdn.openflow)."""

    probability: int
    collector_set_id: int
    obs_domain_id: int
    obs_point_id: int

    def ofctl(self) -> str:
        """The action as ovs-ofctl spells it."""
        return (f"sample(probability={self.probability},collector_set_id={self.collector_set_id},"
                f"obs_domain_id={self.obs_domain_id},obs_point_id={self.obs_point_id})")


def collector_set_ids(base: int) -> dict[Role, int]:
    """The Flow_Sample_Collector_Set id of each role on a bridge whose first set is ``base``."""
    if not 0 <= base <= 0xFFFFFFFF - len(Role):
        raise ValueError(f"observation point: collector set base {base} leaves no room for {len(Role)} sets")
    return {role: base + int(role) - 1 for role in Role}


def sample_params(spi: int, si: int, role: Role, *, collector_set_base: int, switch: int = 0,
                  rate_log2: int = 0) -> SampleParams:
    """The ``sample()`` action of the flow at (spi, si, role); the collector set is the role's
    one of the bridge's sets from ``collector_set_base``; raises ValueError naming a value out
    of range."""
    point = ObservationPoint(spi, si, role, switch, rate_log2)
    return SampleParams(point.probability, collector_set_ids(collector_set_base)[role], point.domain_id,
                        point.point_id)
