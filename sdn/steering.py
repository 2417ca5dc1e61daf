"""What every SFF's flows share, on one switch or across several (pure): the priorities, the NSH
match, an SF port's admission (NSH-unaware ones: to reclassify, and the proxy's flow), a hop's way
into an instance (NSH-unaware ones through the proxy), an SF's balancing id and slot-table flow,
the classifier's flow-hash, and the probes' ``sample()``.

Why a module of its own: ``sdn.render`` (paths on one switch) and ``sdn.overlay`` (paths across
switches) must write these identically — a frame arriving over the overlay continues in the same
tables as one back from a local SF — and render imports overlay, so overlay cannot import them
from render.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from sdn.balance import HASH_BITS
from sdn.cookie import Role, make_cookie
from sdn.openflow import (OFPP_NORMAL, Action, Decap, DecNshTtl, Flow, Multipath, Output, RegMove, Resubmit, Sample,
                          SetField, SwitchState, make_match)
from sdn.pipeline import BALANCE, INGRESS, NEXT_HOP, PROXY, RECLASSIFY, check_flow
from sdn.telemetry.observation import Role as Point
from sdn.telemetry.observation import sample_params

ETH_NSH = 0x894F
PRIO_MISS, PRIO_ADMIT, PRIO_SF_DROP, PRIO_HOP = 0, 100, 90, 100
PRIO_UNAWARE_MISS = 1  # reclassify, per unaware SF port: below every re-classification flow (priority + 1)
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


def unaware_port_state(port: int, one_armed: bool = False, mac: str = "") -> SwitchState:
    """An NSH-unaware SF's port: what it sends goes to reclassify (its paths' flows), never to
    classify, where a classifier bound to no port would take it; what no path re-classifies goes
    to NORMAL from a one-armed SF (its own ARP/ND/ICMP) and is dropped from a two-armed one (see
    sdn.render's docstring); with the ``mac`` of an SF that routes, the proxy flow addressing
    frames to it."""
    cookie = make_cookie(Role.PIPELINE)
    flows = {Flow(INGRESS, PRIO_ADMIT, make_match(in_port=port), goto_table=RECLASSIFY, cookie=cookie),
             Flow(RECLASSIFY, PRIO_UNAWARE_MISS, make_match(in_port=port), (Output(OFPP_NORMAL),) if one_armed else (),
                  cookie=cookie)}
    if mac:
        flows.add(Flow(PROXY, PRIO_HOP, make_match(reg1=port), (SetField("eth_dst", mac), Output(port)), cookie=cookie))
    return SwitchState(checked(flows))


def balance_number(name: str) -> int:
    """What reg2 holds for the balance table of SF ``name`` (CRC-32): stable while its name is,
    so scaling it leaves its paths' flows alone; a clash on one switch is refused by name."""
    return zlib.crc32(name.encode())


def slot_flow(number: int, value: int, mask: int, actions: tuple[Action, ...], priority: int = PRIO_HOP) -> Flow:
    """One block of SF ``number``'s slot table (C4 & mask == value) -> ``actions``."""
    return Flow(BALANCE, priority, make_match(reg2=number, eth_type=ETH_NSH, nsh_mdtype=1, nsh_c4=(value, mask)),
                actions, cookie=make_cookie(Role.PIPELINE))


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
