"""Nova's filter scheduler for VDUs: which compute host each server of a VNF goes to (pure).

Why here and not in the VIM: placement follows the VNFD (flavor, ``availability_zone``, Tacker's
``tosca.policies.tacker.Placement``) and must see the whole VNF at once, so an anti-affinity
group is spread over distinct hosts and a request no host can take fails before anything is
made. As in Nova, every host passes a chain of filters (the first refusal is its reason), the
survivors are weighed (spreading: most free RAM first, then by name), and each choice is
charged to its host before the next request is placed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from vnfm.errors import InvalidRequest
from vnfm.lifecycle import VduPlan
from vnfm.model import VduRecord
from vnfm.spec import AFFINITY, ANTI_AFFINITY, PlacementSpec
from vnfm.vim.base import ComputeHostInfo

ANY_ZONE = "nova"                 # Nova's default availability zone: any host
CPU_ALLOCATION_RATIO = 16.0       # Nova's defaults (cpu/ram/disk_allocation_ratio)
RAM_ALLOCATION_RATIO = 1.5
DISK_ALLOCATION_RATIO = 1.0
MIB = 2**20


@dataclass(frozen=True)
class PlacementRequest:
    """One server to place: what it consumes, where it may go, where it was (a heal keeps it)."""

    key: str
    vdu: str
    instance: int
    vcpus: int = 1
    mem_bytes: int = 0
    disk_bytes: int = 0
    zone: str | None = None   # a host's name; None or "nova": any host
    keep: str = ""            # the host it ran on: chosen again if it passes the filters

    @property
    def label(self) -> str:
        return self.vdu if self.instance == 0 else f"{self.vdu}#{self.instance}"


@dataclass(frozen=True)
class Placed:
    """A VDU instance of the VNF on a host (placed before, or chosen in this round)."""

    vdu: str
    instance: int
    host: str


class PlacementError(InvalidRequest):
    """Nova's "No valid host was found": names the VDU and every host's first refusing filter."""

    def __init__(self, request: PlacementRequest, rejections: Sequence[tuple[str, str]], hint: str = "") -> None:
        self.vdu, self.instance, self.rejections = request.vdu, request.instance, tuple(rejections)
        why = "; ".join(f"{host}: {reason}" for host, reason in rejections) or "the VIM reports no compute hosts"
        super().__init__(f"No valid host was found for VDU {request.label}: {why}" + (f" ({hint})" if hint else ""))


@dataclass(frozen=True)
class _Round:
    """What the policy filters and weighers look at: the rules and the instances placed so far."""

    rules: tuple[PlacementSpec, ...]
    placed: tuple[Placed, ...]

    def members(self, rule: PlacementSpec, req: PlacementRequest) -> list[Placed]:
        return [p for p in self.placed if p.vdu in rule.targets and (p.vdu, p.instance) != (req.vdu, req.instance)]

    def rules_of(self, req: PlacementRequest, strict: bool) -> list[PlacementSpec]:
        return [r for r in self.rules if req.vdu in r.targets and r.strict == strict]


def _mib(n: float) -> str:
    return f"{n / MIB:.0f} MiB"


def compute_filter(h: ComputeHostInfo, req: PlacementRequest, rnd: _Round) -> str:
    return "" if h.up else "host is down" + (f" ({h.reason})" if h.reason else "")


def availability_zone_filter(h: ComputeHostInfo, req: PlacementRequest, rnd: _Round) -> str:
    return "" if req.zone in (None, "", ANY_ZONE, h.zone) else f"not in availability zone {req.zone!r} (it is {h.zone!r})"


def ram_filter(h: ComputeHostInfo, req: PlacementRequest, rnd: _Round) -> str:
    free = h.mem_bytes * RAM_ALLOCATION_RATIO - h.used_mem_bytes
    return "" if req.mem_bytes <= free else (
        f"needs {_mib(req.mem_bytes)} RAM, {_mib(max(free, 0))} free (ram_allocation_ratio {RAM_ALLOCATION_RATIO})")


def core_filter(h: ComputeHostInfo, req: PlacementRequest, rnd: _Round) -> str:
    free = h.vcpus * CPU_ALLOCATION_RATIO - h.used_vcpus
    return "" if req.vcpus <= free else (
        f"needs {req.vcpus} vCPUs, {max(free, 0):g} free (cpu_allocation_ratio {CPU_ALLOCATION_RATIO})")


def disk_filter(h: ComputeHostInfo, req: PlacementRequest, rnd: _Round) -> str:
    free = h.disk_bytes * DISK_ALLOCATION_RATIO - h.used_disk_bytes
    return "" if req.disk_bytes <= free else (
        f"needs {_mib(req.disk_bytes)} disk, {_mib(max(free, 0))} free (disk_allocation_ratio {DISK_ALLOCATION_RATIO})")


def anti_affinity_filter(h: ComputeHostInfo, req: PlacementRequest, rnd: _Round) -> str:
    for rule in rnd.rules_of(req, strict=True):
        if rule.policy == ANTI_AFFINITY:
            here = sorted(_label(p) for p in rnd.members(rule, req) if p.host == h.name)
            if here:
                return f"runs {', '.join(here)} of anti-affinity policy {rule.name}"
    return ""


def affinity_filter(h: ComputeHostInfo, req: PlacementRequest, rnd: _Round) -> str:
    for rule in rnd.rules_of(req, strict=True):
        if rule.policy == AFFINITY:
            hosts = sorted({p.host for p in rnd.members(rule, req)})
            if hosts and h.name not in hosts:
                return f"affinity policy {rule.name} keeps its VDUs on {', '.join(hosts)}"
    return ""


Filter = Callable[[ComputeHostInfo, PlacementRequest, _Round], str]
FILTERS: tuple[tuple[str, Filter], ...] = (
    ("ComputeFilter", compute_filter), ("AvailabilityZoneFilter", availability_zone_filter),
    ("RamFilter", ram_filter), ("CoreFilter", core_filter), ("DiskFilter", disk_filter),
    ("ServerGroupAntiAffinityFilter", anti_affinity_filter), ("ServerGroupAffinityFilter", affinity_filter),
)


def _label(p: Placed) -> str:
    return p.vdu if p.instance == 0 else f"{p.vdu}#{p.instance}"


def _weight(h: ComputeHostInfo, req: PlacementRequest, rnd: _Round) -> tuple[int, int, str]:
    """Sort key, best first: soft (non-strict) policies' preference, then Nova's RAMWeigher
    (most free RAM: spreading), then the name (a stable answer)."""
    soft = 0
    for rule in rnd.rules_of(req, strict=False):
        here = sum(p.host == h.name for p in rnd.members(rule, req))
        soft += here if rule.policy == ANTI_AFFINITY else -here
    return soft, -(h.mem_bytes - h.used_mem_bytes), h.name


def _charge(h: ComputeHostInfo, req: PlacementRequest) -> ComputeHostInfo:
    return replace(h, used_vcpus=h.used_vcpus + req.vcpus, used_mem_bytes=h.used_mem_bytes + req.mem_bytes,
                   used_disk_bytes=h.used_disk_bytes + req.disk_bytes, servers=(*h.servers, req.key))


def place(hosts: Sequence[ComputeHostInfo], requests: Sequence[PlacementRequest],
          rules: Sequence[PlacementSpec] = (), placed: Iterable[Placed] = ()) -> dict[str, str]:
    """Server key -> host name for every request, in order, each charged before the next;
    ``placed``: the VNF's instances already running (policy members). PlacementError if one
    request fits no host (then nothing of the answer is to be used)."""
    state = {h.name: h for h in hosts}
    rnd = _Round(tuple(rules), tuple(placed))
    chosen: dict[str, str] = {}
    for req in requests:
        passing, rejections = [], []
        for h in state.values():
            reason = next((f"{name}: {why}" for name, f in FILTERS if (why := f(h, req, rnd))), "")
            if reason:
                rejections.append((h.name, reason))
            else:
                passing.append(h)
        if not passing:
            zones = sorted(state)
            unknown = req.zone not in (None, "", ANY_ZONE, *zones)
            raise PlacementError(req, rejections, f"availability zone {req.zone!r} is unknown; zones: "
                                 f"{', '.join(zones) or 'none'}, or {ANY_ZONE!r} for any host" if unknown else "")
        best = next((h for h in passing if h.name == req.keep), None) or min(passing, key=lambda h: _weight(h, req, rnd))
        chosen[req.key] = best.name
        state[best.name] = _charge(best, req)
        rnd = replace(rnd, placed=(*rnd.placed, Placed(req.vdu, req.instance, best.name)))
    return chosen


# -- a VNF's plans ---------------------------------------------------------------------------------
def request_of(plan: VduPlan, keep: str = "") -> PlacementRequest:
    """What one VDU instance asks of a host: its flavor (a server without cpus counts one vCPU,
    as the VIM reports it) and its local disk (its volume, else the flavor's disk_size)."""
    s, r = plan.spec, plan.record
    return PlacementRequest(r.key, r.name, r.instance, s.cpus or 1, s.mem_bytes or 0,
                            s.volume_bytes if s.volume_bytes is not None else s.disk_bytes or 0, s.zone, keep)


def place_plans(hosts: Sequence[ComputeHostInfo], plans: Sequence[VduPlan], rules: Sequence[PlacementSpec] = (),
                others: Iterable[VduRecord] = (), keep: Mapping[tuple[str, int], str] = {}) -> list[VduPlan]:
    """The plans with their host chosen: ``VduRecord.host`` set and each CP's ``bridge`` the
    host's switch (the VIM's bridge, as planned, when the host names none). ``rules``: the VNF's
    placement policies; ``others``: its running instances; ``keep``: (VDU, instance) -> the host
    a healed instance ran on."""
    chosen = place(hosts, [request_of(p, keep.get((p.record.name, p.record.instance), "")) for p in plans],
                   rules, [Placed(v.name, v.instance, v.host) for v in others if v.host])
    switch = {h.name: h.switch for h in hosts}
    out = []
    for p in plans:
        host = chosen[p.record.key]
        cps = tuple(replace(c, bridge=switch[host] or c.bridge) for c in p.record.cps)
        out.append(replace(p, record=replace(p.record, host=host, cps=cps)))
    return out
