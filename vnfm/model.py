"""VNF records, events and networks: the values the manager stores and hands to the nfvo.

Frozen dataclasses only; ``vnfm.spec`` holds what a VNFD compiles to, ``vnfm.lifecycle`` the
pure rules that move records from state to state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """The one status vocabulary of VNFs and of the NFVO's resources (VNFFG, NS): Tacker's states.

    It lives here, below the NFVO, because the NFVO reacts to VNF statuses. DELETED only appears
    as the ``new`` side of a resource's last event; PENDING_UPDATE is the NFVO's (a VNFFG being
    re-rendered); DEAD and PENDING_HEAL/SCALE_* are VNFs' only. DEGRADED is a VNFFG's that carries
    traffic but not as specified (a hop lost instances, or is bypassed under ``fail-open``); it
    returns to ACTIVE by itself when they are back (a state Tacker never had).
    """

    PENDING_CREATE = "PENDING_CREATE"
    PENDING_UPDATE = "PENDING_UPDATE"
    ACTIVE = "ACTIVE"
    DEGRADED = "DEGRADED"
    ERROR = "ERROR"
    DEAD = "DEAD"
    PENDING_DELETE = "PENDING_DELETE"
    PENDING_HEAL = "PENDING_HEAL"
    PENDING_SCALE_OUT = "PENDING_SCALE_OUT"
    PENDING_SCALE_IN = "PENDING_SCALE_IN"
    DELETED = "DELETED"


@dataclass(frozen=True)
class CpRecord:
    """A connection point as instantiated: the port a chain hop points at."""

    name: str
    vdu: str
    instance: int
    vl: str          # network name (the VL's network_name, else the VL node name)
    order: int
    management: bool
    iface: str       # interface name inside the VDU's namespace
    mac: str
    ip: str          # "10.0.0.5/24" ("" if the network has no subnet)
    ovs_port: str    # host-side veth == OVS port name
    ofport: int
    bridge: str
    vlan: int = 0    # local VLAN tag of the VL's segment on the bridge

    @property
    def key(self) -> str:
        """Name used in events: ``CP2`` for instance 0, ``CP2#1`` for scaled instances."""
        return cp_key(self.name, self.instance)


def cp_key(name: str, instance: int) -> str:
    return name if instance == 0 else f"{name}#{instance}"


@dataclass(frozen=True)
class VduRecord:
    name: str
    instance: int
    namespace: str
    image: str
    pid: int | None
    cps: tuple[CpRecord, ...]
    volume: str | None
    key: str = ""       # the VIM's server name (namespace, cgroup and port names derive from it)
    limits: str = ""    # e.g. "cpus=1 mem=64MiB enforced" or "not enforced: <why>"
    # its image's software parses NSH (else a chain hop through it is proxied by the switch);
    # records stored before this was said were chained as NSH-aware, so they stay so
    nsh_aware: bool = True
    boot: str = ""      # first boot: "user_data ok (0.1 s)", "no user_data", "user_data failed: ..."
    # its program exited (the VIM saw it) or its monitor's checks failed: chains skip it until
    # it is healed (a heal makes a fresh record) or answers again
    dead: bool = False
    host: str = ""      # the compute host the scheduler placed it on ("": placed before hosts were named)


@dataclass(frozen=True)
class VnfRecord:
    id: str
    name: str
    vnfd_name: str
    status: str  # a Status
    reason: str
    vdus: tuple[VduRecord, ...]
    created_at: float
    vnf_type: str | None
    code: str = ""          # short per-deployment code in every VIM name of this VNF
    updated_at: float = 0.0

    @property
    def cps(self) -> tuple[CpRecord, ...]:
        return tuple(cp for vdu in self.vdus for cp in vdu.cps)

    def cp(self, name: str, instance: int = 0) -> CpRecord:
        for cp in self.cps:
            if cp.name == name and cp.instance == instance:
                return cp
        raise KeyError(f"VNF {self.name} has no CP {cp_key(name, instance)}")

    def vdu(self, name: str, instance: int = 0) -> VduRecord:
        for vdu in self.vdus:
            if vdu.name == name and vdu.instance == instance:
                return vdu
        raise KeyError(f"VNF {self.name} has no VDU {name} instance {instance}")


@dataclass(frozen=True)
class IpForwarding:
    """Whether a server's kernel forwards IP (``net.ipv4.ip_forward``,
    ``net.ipv6.conf.all.forwarding`` in its network namespace): an NSH-unaware hop that routes
    needs it, or a chain through it carries nothing."""

    ipv4: bool
    ipv6: bool


@dataclass(frozen=True)
class VnfEvent:
    """A state change; healing/scaling events name the CPs whose ports were (re)made or removed."""

    time: float
    vnf_id: str
    vnf_name: str
    old: str
    new: str
    reason: str
    changed_cps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Network:
    """A VL's segment on the integration bridge: local VLAN tag plus an IPv4 subnet."""

    name: str
    vlan: int
    cidr: str
