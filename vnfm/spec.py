"""Compile a VNFD into what the manager needs to run it (pure, all checks up front).

Why a spec and not the VNFD itself: the record must outlive the descriptor object (restart,
heal, scale after a restart), so the store keeps this small, JSON-friendly value instead of the
TOSCA model. Every problem is reported at once, before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from descriptors import InputRef, Vnfd
from vnfm.alarms import AlarmSpec, compile_alarms
from vnfm.errors import InvalidRequest
from vnfm.images import FLAVORS, HOST_ROOTFS, ImageCatalog, parse_size

AFFINITY, ANTI_AFFINITY = "affinity", "anti-affinity"   # Tacker's Placement policies
MONITOR_DEFAULTS = {"monitoring_delay": 0, "count": 3, "interval": 1, "timeout": 2, "retry": 1,
                    "port": 80}


@dataclass(frozen=True)
class MonitorSpec:
    """Tacker's monitoring_policy: check ``count`` echoes ``interval`` s apart (success if any
    answers within ``timeout``), declare failure after ``retry`` failed checks in a row."""

    driver: str          # ping | http_ping | noop
    action: str          # respawn | log | log_and_kill | vdu_autoheal
    delay: float
    count: int
    interval: float
    timeout: float
    retry: int
    port: int


@dataclass(frozen=True)
class CpSpec:
    name: str
    vl: str              # VL node name in the VNFD
    network: str         # the VL's network_name (else the VL name): the segment it joins
    order: int
    management: bool
    iface: str           # eth0, eth1... by order
    mac: str | None
    ip: str | None


@dataclass(frozen=True)
class VduSpec:
    name: str
    index: int           # position in the VNFD (a name component)
    image: str
    argv: tuple[str, ...] | None
    ready: str | None
    cpus: int | None
    mem_bytes: int | None
    volume_bytes: int | None
    volume_name: str | None
    cps: tuple[CpSpec, ...]
    monitor: MonitorSpec | None
    nsh_aware: bool = True  # the image's software parses NSH; specs stored before it was said were chained so
    rootfs: str = HOST_ROOTFS     # the image's root filesystem (Image.rootfs)
    user_data: str | None = None  # RAW script run once at first boot
    config: str | None = None     # Tacker's VDU ``config``: a file in the VDU
    zone: str | None = None       # availability_zone: a host's name ("nova" or None: any host)
    disk_bytes: int | None = None  # nfv_compute disk_size: what it takes of a host's disk without a volume


@dataclass(frozen=True)
class ScalingSpec:
    name: str
    targets: tuple[str, ...]
    increment: int
    min: int
    max: int
    default: int
    cooldown: float = 120.0   # seconds between alarm-driven scalings by this policy


@dataclass(frozen=True)
class PlacementSpec:
    """A Tacker Placement policy: its target VDUs (every instance of them) share one host
    (affinity) or never share one (anti-affinity); ``strict`` refuses, else only prefers."""

    name: str
    policy: str          # AFFINITY | ANTI_AFFINITY
    strict: bool
    targets: tuple[str, ...]


@dataclass(frozen=True)
class VnfSpec:
    vdus: tuple[VduSpec, ...]
    scaling: tuple[ScalingSpec, ...]
    cidrs: tuple[tuple[str, str], ...] = ()   # network -> cidr asked for by VL properties
    alarms: tuple[AlarmSpec, ...] = ()        # Tacker's Alarming triggers (vnfm.alarms)
    placement: tuple[PlacementSpec, ...] = ()  # Tacker's Placement policies (vnfm.scheduler)

    def vdu(self, name: str) -> VduSpec:
        return next(v for v in self.vdus if v.name == name)

    def policy(self, name: str) -> ScalingSpec:
        for p in self.scaling:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.scaling) or "none"
        raise InvalidRequest(f"no scaling policy {name!r} (known: {known})")

    def default_instances(self, vdu: str) -> int:
        counts = [p.default for p in self.scaling if vdu in p.targets]
        return max(counts) if counts else 1

    @property
    def networks(self) -> tuple[str, ...]:
        return tuple(sorted({cp.network for v in self.vdus for cp in v.cps}))


MAX_INSTANCES = 36   # one base-36 character of every VIM name


def compile_spec(vnfd: Vnfd, catalog: ImageCatalog) -> VnfSpec:
    """VNFD (inputs resolved) -> VnfSpec, or InvalidRequest listing every problem."""
    problems: list[str] = []

    def val(what: str, value: Any) -> Any:
        if isinstance(value, InputRef):
            problems.append(f"{what}: unresolved input {value}")
            return None
        return value

    if vnfd.unresolved_inputs:
        problems.append("unresolved inputs: " + ", ".join(sorted(vnfd.unresolved_inputs)))
    vls = {vl.name: vl for vl in vnfd.vls}
    cidrs: dict[str, str] = {}
    for vl in vls.values():
        cidr = vl.properties.get("cidr")
        if isinstance(cidr, str):
            cidrs[str(val(vl.name, vl.network_name) or vl.name)] = cidr
    vdus = []
    for index, vdu in enumerate(vnfd.vdus):
        image_name = val(f"{vdu.name}.image", vdu.image)
        if image_name is None and vdu.artifact is not None:
            image_name = val(f"{vdu.name}.artifact", vdu.artifact.file)
        argv, ready, nsh_aware, root = None, None, False, HOST_ROOTFS
        try:
            image = catalog.resolve(str(image_name or ""))
            argv, ready, nsh_aware, root = image.argv, image.ready, image.nsh_aware, image.rootfs
        except InvalidRequest as exc:
            problems.append(f"VDU {vdu.name}: {exc}")
        user_data, config = val(f"{vdu.name}.user_data", vdu.user_data), val(f"{vdu.name}.config", vdu.config)
        fmt = val(f"{vdu.name}.user_data_format", vdu.user_data_format)
        if user_data and str(fmt or "RAW").upper() != "RAW":
            problems.append(f"VDU {vdu.name}: user_data_format {fmt!r} is not supported (RAW: a script)")
        cpus, mem = _compute(vdu, val, problems)
        cps = []
        ordered = sorted((c for c in vnfd.cps if c.vdu == vdu.name),
                         key=lambda c: (not isinstance(c.order, int),
                                        c.order if isinstance(c.order, int) else 0, c.name))
        for n, cp in enumerate(ordered):
            found = vls.get(cp.virtual_link or "")
            if found is None:
                problems.append(f"CP {cp.name}: virtual link {cp.virtual_link!r} is not a VL of "
                                f"VNFD {vnfd.name} (known: {', '.join(sorted(vls)) or 'none'})")
                continue
            vl = found
            order = val(f"{cp.name}.order", cp.order)
            cps.append(CpSpec(cp.name, vl.name, str(val(vl.name, vl.network_name) or vl.name),
                              order if isinstance(order, int) else n,
                              val(f"{cp.name}.management", cp.management) is True, f"eth{n}",
                              val(f"{cp.name}.mac_address", cp.mac_address),
                              val(f"{cp.name}.ip_address", cp.ip_address)))
        storage = [b for b in vnfd.block_storage if b.vdu == vdu.name]
        vol_bytes = vol_name = None
        if storage:
            vol_name = storage[0].name
            try:
                vol_bytes = parse_size(val(f"{vol_name}.size", storage[0].size)) or 2**30
            except InvalidRequest as exc:
                problems.append(f"{vol_name}: {exc}")
        zone = val(f"{vdu.name}.availability_zone", vdu.availability_zone)
        vdus.append(VduSpec(vdu.name, index, str(image_name), argv, ready, cpus, mem, vol_bytes,
                            vol_name, tuple(cps), _monitor(vdu, problems), nsh_aware, root, user_data or None,
                            config or None, str(zone) if zone else None, _disk(vdu, val, problems)))
    scaling = []
    for pol in vnfd.scaling_policies:
        lo, hi, inc, default = (val(f"{pol.name}.{k}", getattr(pol, a)) for k, a in (
            ("min_instances", "min_instances"), ("max_instances", "max_instances"),
            ("increment", "increment"), ("default_instances", "default_instances")))
        lo, inc = (lo if isinstance(lo, int) else 1), (inc if isinstance(inc, int) else 1)
        hi = hi if isinstance(hi, int) else max(lo, 1)
        default = default if isinstance(default, int) else lo
        if not (0 <= lo <= default <= hi <= MAX_INSTANCES) or inc < 1:
            problems.append(f"scaling policy {pol.name}: need 0 <= min <= default <= max <= "
                            f"{MAX_INSTANCES} and increment >= 1 (got {lo}, {default}, {hi}, {inc})")
        cooldown = val(f"{pol.name}.cooldown", pol.cooldown)
        scaling.append(ScalingSpec(pol.name, tuple(pol.targets), inc, lo, hi, default,
                                   float(cooldown) if isinstance(cooldown, int) else 120.0))
    alarms = compile_alarms(vnfd, problems)
    placement = []
    for place in vnfd.placement_policies:
        if place.policy not in (AFFINITY, ANTI_AFFINITY):
            problems.append(f"placement policy {place.name}: policy must be {AFFINITY} or {ANTI_AFFINITY}, "
                            f"not {place.policy!r}")
        placement.append(PlacementSpec(place.name, place.policy, place.strict, tuple(place.targets)))
    if len(vdus) > 36:
        problems.append("at most 36 VDUs per VNF")
    if problems:
        raise InvalidRequest(f"VNFD {vnfd.name}: " + "; ".join(problems))
    return VnfSpec(tuple(vdus), tuple(scaling), tuple(sorted(cidrs.items())), alarms, tuple(placement))


def _compute(vdu: Any, val: Any, problems: list[str]) -> tuple[int | None, int | None]:
    if vdu.compute is not None:
        cpus = val(f"{vdu.name}.num_cpus", vdu.compute.num_cpus)
        try:
            mem = parse_size(val(f"{vdu.name}.mem_size", vdu.compute.mem_size),
                             default_unit="mib")
        except InvalidRequest as exc:
            problems.append(f"VDU {vdu.name}: mem_size: {exc}")
            mem = None
        return (cpus if isinstance(cpus, int) else None), mem
    flavor = val(f"{vdu.name}.flavor", vdu.flavor)
    if flavor in FLAVORS:
        cpus, mib = FLAVORS[flavor]
        return cpus, mib * 2**20
    return None, None   # an unknown flavor: nothing to enforce (reported as not enforced)


def _disk(vdu: Any, val: Any, problems: list[str]) -> int | None:
    if vdu.compute is None:
        return None
    try:
        return parse_size(val(f"{vdu.name}.disk_size", vdu.compute.disk_size), default_unit="gib")
    except InvalidRequest as exc:
        problems.append(f"VDU {vdu.name}: disk_size: {exc}")
        return None


def _monitor(vdu: Any, problems: list[str]) -> MonitorSpec | None:
    pol = vdu.monitoring
    if pol is None or pol.driver == "noop":
        return None
    p = {**MONITOR_DEFAULTS, **{k: v for k, v in pol.parameters.items()}}
    action = pol.actions.get("failure") or next(iter(pol.actions.values()), "log")
    if p["count"] < 1 or p["retry"] < 1 and pol.parameters.get("retry") is not None:
        problems.append(f"VDU {vdu.name}: monitoring count/retry must be >= 1")
    return MonitorSpec(pol.driver, str(action), float(p["monitoring_delay"]), max(1, p["count"]),
                       float(p["interval"]) or 1.0, float(p["timeout"]) or 1.0,
                       max(1, p["retry"]), int(p["port"]))
