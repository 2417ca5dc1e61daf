"""What every SFF's flows share, on one switch or across several (pure): the priorities, the NSH
match, an SF port's admission, a hop's way into an instance (NSH-unaware ones through the proxy),
the classifier's flow-hash, and the probes' ``sample()``.

Why a module of its own: ``sdn.render`` (paths on one switch) and ``sdn.overlay`` (paths across
switches) must write these identically — a frame arriving over the overlay continues in the same
tables as one back from a local SF — and render imports overlay, so overlay cannot import them
from render.
"""

from __future__ import annotations

from collections.abc import Iterable

from sdn.balance import HASH_BITS
from sdn.cookie import Role, make_cookie
from sdn.openflow import Action, Decap, DecNshTtl, Flow, Multipath, Output, RegMove, Resubmit, Sample, SetField, make_match
from sdn.pipeline import INGRESS, NEXT_HOP, PROXY, check_flow
from sdn.telemetry.observation import Role as Point
from sdn.telemetry.observation import sample_params

ETH_NSH = 0x894F
PRIO_MISS, PRIO_ADMIT, PRIO_SF_DROP, PRIO_HOP = 0, 100, 90, 100
HASH_LINKS = 1 << HASH_BITS  # multipath's links: C4 carries HASH_BITS bits of the symmetric L4 hash
FLOW_HASH: tuple[Action, ...] = (Multipath(HASH_LINKS, "reg0", HASH_BITS),)  # before encap: the 5-tuple is visible
FLOW_HASH_TO_C4: tuple[Action, ...] = (RegMove("reg0", "nsh_c4", HASH_BITS),)  # after encap(nsh)
ProbeKey = tuple[int, int, int] | None  # (collector_set_base, rate_log2, switch tag): flows sample; None: they do not


def nsh_match(spi: int, si: int, **extra: object) -> tuple:
    return make_match(eth_type=ETH_NSH, nsh_spi=spi, nsh_si=si, **extra)  # type: ignore[arg-type]


def checked(flows: Iterable[Flow]) -> frozenset[Flow]:
    """Every computed flow passes the pipeline's check, once, here."""
    return frozenset(check_flow(f) for f in flows)


def sf_port_flows(port: int) -> frozenset[Flow]:
    """An SF port carries NSH frames back from its SF; anything else from it is dropped."""
    cookie = make_cookie(Role.PIPELINE)
    return checked((
        Flow(INGRESS, PRIO_ADMIT, make_match(in_port=port, eth_type=ETH_NSH), goto_table=NEXT_HOP, cookie=cookie),
        Flow(INGRESS, PRIO_SF_DROP, make_match(in_port=port), (), cookie=cookie),
    ))


def to_instance(port: int, unaware: bool, mac: str) -> tuple[Action, ...]:
    """A hop's actions towards one instance: NSH off before an unaware SF, through the proxy
    table if it routes (its flow addresses the frame to the SF: sdn.render.unaware_port_state)."""
    if unaware and mac:
        return DecNshTtl(), SetField("reg1", port), Decap(), Decap(), Resubmit(PROXY)
    return (DecNshTtl(), *((Decap(), Decap()) if unaware else ()), Output(port))


def sample_actions(probe: ProbeKey, spi: int, si: int, role: Point) -> tuple[Action, ...]:
    """The probe's ``sample()`` for observation point (spi, si, role); none without probes."""
    if probe is None:
        return ()
    base, rate_log2, tag = probe
    p = sample_params(spi, si, role, collector_set_base=base, switch=tag, rate_log2=rate_log2)
    return (Sample(p.probability, p.collector_set_id, p.obs_domain_id, p.obs_point_id),)
