"""The desired-state document's values (pure): switches (SFFs), service functions and their
instances, service function paths with their classifiers and destinations, probes.

Typed frozen values only; what makes a document consistent (and the errors naming the element at
fault) is ``sdn.document``, which re-exports these names: callers import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from sdn.match import ClassifierMatch, compile_match
from sdn.openflow import MatchValue
from sdn.telemetry.observation import ALL_PACKETS, MAX_RATE_LOG2

SFLOW_SAMPLING = 400  # sFlow 1 in N unless a document says: OVS's own default (ovs-vswitchd.conf.db, sFlow table)
DEFAULT_CLASSIFIER_PRIORITY = 100

CompiledMatch = tuple[tuple[str, MatchValue], ...]


@dataclass(frozen=True)
class Switch:
    """An SFF; ``ovsdb`` ("unix:/run/x/db.sock", "tcp:10.0.0.1:6640"), when set, is where the
    controller configures the bridge's probes (sFlow agent, IPFIX exporter), found by dpid."""

    name: str
    dpid: int
    ovsdb: str = ""
    host_id: int = 0  # the overlay (sdn.overlay): the compute host's id, carried in NSH C1 (0 = none)
    tunnel_ip: str = ""  # its underlay IPv4 address, where GPE towards it goes
    gpe_port: str = ""  # its flow-based VXLAN-GPE port (ptap, UDP 4790)
    # ports carrying virtual links to other hosts (plain VXLAN): what comes in there was classified
    # on the host it entered, so it goes to NORMAL, never to classify (sdn.render.tunnel_port_state)
    tunnel_ports: tuple[str, ...] = ()

    @property
    def on_overlay(self) -> bool:
        """Whether paths may cross this switch's tunnel to other SFFs (all three overlay fields set)."""
        return bool(self.host_id and self.tunnel_ip and self.gpe_port)


PROBABILITIES = tuple(ALL_PACKETS >> k for k in range(MAX_RATE_LOG2 + 1))  # 1 in 2**k: observation ids say k


@dataclass(frozen=True)
class Probes:
    """What every switch with an ``ovsdb`` address exports, and where (RFC 7011 IPFIX, sFlow v5).

    IPFIX: classify, hop and end-of-path flows carry ``sample()`` actions (one in 65535 /
    ``probability`` packets; a power-of-two fraction so the observation ids can say it, see
    ``sdn.telemetry.observation``) into the bridge's Flow_Sample_Collector_Sets
    ``collector_set_base .. + 3`` (one per role), all exporting to ``ipfix_targets``.
    sFlow: the bridge's agent samples 1 in ``sflow_sampling`` packets (NSH headers raw) and
    polls interface counters every ``sflow_polling`` s. Targets are "host:port".
    sFlow samples name ports by ifIndex, which only the agent address ties to a switch: with
    several switches (compute hosts) ``sflow_agent_tunnel_ip`` makes each switch's agent its own
    ``tunnel_ip`` (its underlay address), so a collector tells their ifIndexes apart.
    """

    ipfix_targets: tuple[str, ...] = ()
    collector_set_base: int = 1
    probability: int = ALL_PACKETS
    ipfix_cache_active_timeout: int = 1  # s a record aggregates before export (0: OVS exports each sample)
    sflow_targets: tuple[str, ...] = ()
    sflow_sampling: int = SFLOW_SAMPLING  # OVS's own default
    sflow_polling: int = 10
    sflow_header: int = 128
    sflow_agent: str = ""  # an IP or interface name for the agent address ("": OVS picks one)
    sflow_agent_tunnel_ip: bool = False  # each switch's agent is its tunnel_ip (sflow_agent then "")

    def agent_of(self, switch: Switch) -> str:
        """The sFlow agent address ``switch`` reports (an IP, an interface name, or "")."""
        return switch.tunnel_ip if self.sflow_agent_tunnel_ip else self.sflow_agent

    def for_switch(self, switch: Switch) -> Probes:
        """The settings ``switch``'s OVSDB holds: the per-switch agent resolved."""
        if not self.sflow_agent_tunnel_ip:
            return self
        return replace(self, sflow_agent=switch.tunnel_ip, sflow_agent_tunnel_ip=False)

    @property
    def rate_log2(self) -> int:
        return PROBABILITIES.index(self.probability)

    @property
    def samples(self) -> bool:
        """Whether flows carry sample() actions (only with an IPFIX exporter to send to)."""
        return bool(self.ipfix_targets)



@dataclass(frozen=True)
class SfInstance:
    """One instance of an SF. Several instances share new connections by ``weight`` (0: draining,
    it takes none while its ports stay admitted, so what is inside it still comes out and goes
    on); ``slots`` is its part of the hop's slot table (``sdn.balance``), which the controller
    plans from the document it holds so that a change moves only the connections it must ("" /
    () = none planned yet: a fresh table)."""

    switch: str
    port: str
    egress_port: str = ""  # NSH-unaware SFs: where frames come back ("" = port)
    mac: str = ""  # NSH-unaware SFs that route: frames go to it addressed to this MAC (lower-case)
    weight: int = 1
    slots: tuple[int, ...] = ()

    @property
    def egress(self) -> str:
        return self.egress_port or self.port

    @property
    def ports(self) -> tuple[str, ...]:
        return (self.port,) if self.egress == self.port else (self.port, self.egress)


@dataclass(frozen=True)
class ServiceFunction:
    name: str
    instances: tuple[SfInstance, ...]
    nsh_aware: bool = True


@dataclass(frozen=True)
class Destination:
    """Where a classifier's traffic goes (networking-sfc's logical_destination_port): a port on a
    switch, which is then where the path ends for it -- NSH comes off there and the frame goes out
    of that port, whatever host classified it (``dataplane.nshcontext``: C1 names it)."""

    port: str
    switch: str = ""  # "" = the classifier's switch (check_document fills it in)


@dataclass(frozen=True)
class Classifier:
    """Admits matching traffic into its path. ``in_port`` "" = from every port that is not a
    service function's (present and future ones: the flows name no port); else from that port.
    ``destination`` None: the path ends where the traffic entered (or after a routing unaware hop
    on its host) and NORMAL delivers it from there."""

    name: str
    in_port: str = ""
    match: ClassifierMatch = ClassifierMatch()
    switch: str = ""  # "" = the path's switch (check_document fills it in)
    priority: int = DEFAULT_CLASSIFIER_PRIORITY
    destination: Destination | None = None

    @cached_property
    def matches(self) -> tuple[CompiledMatch, ...]:
        """The OpenFlow matches it compiles to (ORed); raises MatchError."""
        return tuple(compile_match(self.match))


@dataclass(frozen=True)
class ServicePath:
    name: str
    spi: int
    hops: tuple[str, ...]
    classifiers: tuple[Classifier, ...] = ()

    @property
    def end_si(self) -> int:
        """The SI a packet carries after its last SF: where the path ends and NSH comes off."""
        return 255 - len(self.hops)

    @cached_property
    def destinations(self) -> tuple[Destination, ...]:
        """Its classifiers' distinct destinations; the position of one is its number in NSH C1."""
        return tuple(dict.fromkeys(c.destination for c in self.classifiers if c.destination is not None))


@dataclass(frozen=True)
class SfcDocument:
    switches: tuple[Switch, ...] = ()
    service_functions: tuple[ServiceFunction, ...] = ()
    paths: tuple[ServicePath, ...] = ()
    probes: Probes | None = None  # None: no probes, flows carry no sample() actions

    def switch(self, name: str) -> Switch:
        return next(s for s in self.switches if s.name == name)

    def function(self, name: str) -> ServiceFunction:
        return next(f for f in self.service_functions if f.name == name)
