"""VNFD model (VDUs, CPs, VLs, storage, policies, substitution) and its builder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from descriptors.common import (BLOCK_ATTACHMENT, BLOCK_STORAGE, CP, VDU, VL, TypeIndex, as_list,
                                as_map, freeze, node_templates, opt_bool, opt_int, opt_str,
                                requirement_targets)
from descriptors.alarming import AlarmPolicy, AlarmTrigger, parse_trigger, server_groups  # noqa: F401 (re-exported)
from descriptors.errors import Collector
from descriptors.inputs import InputDef, InputRef

MONITORING_DRIVERS = ("ping", "http_ping", "noop")
MONITORING_ACTIONS = ("respawn", "log", "log_and_kill", "vdu_autoheal")
MONITORING_PARAMS = ("monitoring_delay", "count", "interval", "timeout", "retry", "port")
SCALING = "tosca.policies.tacker.Scaling"
ALARMING = "tosca.policies.tacker.Alarming"
PLACEMENT = "tosca.policies.tacker.Placement"


@dataclass(frozen=True)
class ComputeProperties:
    """The ``nfv_compute`` capability (used instead of a named flavor)."""

    num_cpus: int | InputRef | None
    mem_size: str | InputRef | None
    disk_size: str | InputRef | None = None


@dataclass(frozen=True)
class ImageArtifact:
    name: str
    type: str
    file: str | InputRef


@dataclass(frozen=True)
class MonitoringPolicy:
    """Tacker VDU ``monitoring_policy``: driver, its parameters, and what to do on failure."""

    driver: str
    parameters: Mapping[str, int]
    actions: Mapping[str, str]


@dataclass(frozen=True)
class Vdu:
    name: str
    type: str
    image: str | InputRef | None
    artifact: ImageArtifact | None
    flavor: str | InputRef | None
    compute: ComputeProperties | None
    availability_zone: str | InputRef | None
    mgmt_driver: str | InputRef | None
    config: str | InputRef | None
    user_data: str | InputRef | None
    user_data_format: str | InputRef | None
    monitoring: MonitoringPolicy | None
    properties: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ConnectionPoint:
    name: str
    vdu: str
    virtual_link: str | None
    order: int | InputRef | None
    management: bool | InputRef
    anti_spoofing_protection: bool | InputRef | None
    mac_address: str | InputRef | None
    ip_address: str | InputRef | None
    type: str | InputRef | None = None


@dataclass(frozen=True)
class VirtualLink:
    name: str
    network_name: str | InputRef | None
    vendor: str | InputRef | None
    properties: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class BlockStorage:
    name: str
    size: str | InputRef | None
    image: str | InputRef | None
    vdu: str | None = None
    location: str | InputRef | None = None


@dataclass(frozen=True)
class ScalingPolicy:
    name: str
    targets: tuple[str, ...]
    increment: int | InputRef | None
    min_instances: int | InputRef | None
    max_instances: int | InputRef | None
    default_instances: int | InputRef | None
    cooldown: int | InputRef | None = 120


@dataclass(frozen=True)
class PlacementPolicy:
    name: str
    policy: str
    strict: bool
    targets: tuple[str, ...]


@dataclass(frozen=True)
class VnfType:
    """The abstract node type a VNFD offers an NSD (``substitution_mappings``)."""

    node_type: str
    requirements: Mapping[str, tuple[str, str]]  # name → (CP, requirement)
    capabilities: Mapping[str, tuple[str, str]]
    required: tuple[str, ...] = ()  # requirement names the NSD must fill
    definition: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Vnfd:
    name: str
    description: str | InputRef | None
    metadata: Mapping[str, Any]
    inputs: tuple[InputDef, ...]
    vdus: tuple[Vdu, ...]
    cps: tuple[ConnectionPoint, ...]
    vls: tuple[VirtualLink, ...]
    block_storage: tuple[BlockStorage, ...]
    scaling_policies: tuple[ScalingPolicy, ...]
    alarm_policies: tuple[AlarmPolicy, ...]
    placement_policies: tuple[PlacementPolicy, ...]
    vnf_type: VnfType | None
    unresolved_inputs: frozenset[str] = frozenset()
    node_types: Mapping[str, Any] = field(default_factory=dict, compare=False)

    kind = "VNFD"

    def cp(self, name: str) -> ConnectionPoint | None:
        return next((c for c in self.cps if c.name == name), None)

    def vdu(self, name: str) -> Vdu | None:
        return next((v for v in self.vdus if v.name == name), None)

    def data_cps(self, vdu: str | None = None) -> tuple[ConnectionPoint, ...]:
        """Non-management CPs by ``order`` (unordered last, then by name)."""
        cps = [c for c in self.cps if c.management is not True and (vdu is None or c.vdu == vdu)]
        return tuple(sorted(cps, key=lambda c: (not isinstance(c.order, int),
                                                c.order if isinstance(c.order, int) else 0, c.name)))

    def first_data_cp(self, vdu: str | None = None) -> ConnectionPoint | None:
        """The first non-management CP (lowest order): where an SF receives chained traffic."""
        cps = self.data_cps(vdu)
        return cps[0] if cps else None

    def summary(self) -> str:
        return f"{len(self.vdus)} VDU, {len(self.cps)} CP, {len(self.vls)} VL"


def _monitoring(raw: Any, col: Collector, node: str, path: tuple) -> MonitoringPolicy | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        col.add(node, "monitoring_policy", "must be a mapping (name, parameters, actions)", path)
        return None
    driver = raw.get("name")
    if driver not in MONITORING_DRIVERS:
        col.add(node, "monitoring_policy.name", f"unknown monitoring driver {driver!r} "
                f"(one of {', '.join(MONITORING_DRIVERS)})", (*path, "name"))
    params: dict[str, int] = {}
    for key, value in as_map(raw.get("parameters")).items():
        where = (*path, "parameters", key)
        if key not in MONITORING_PARAMS:
            col.add(node, f"monitoring_policy.parameters.{key}", "unknown monitoring parameter", where)
            continue
        number = opt_int(value, col, node, f"monitoring_policy.parameters.{key}", where)
        if isinstance(number, int):
            if number < 0:
                col.add(node, f"monitoring_policy.parameters.{key}", "must not be negative", where)
            params[key] = number
    actions = {}
    raw_actions = raw.get("actions")
    if not isinstance(raw_actions, Mapping) or not raw_actions:
        col.add(node, "monitoring_policy.actions", "needs actions, e.g. {failure: respawn}", (*path, "actions"))
    else:
        for event, action in raw_actions.items():
            if action not in MONITORING_ACTIONS:
                col.add(node, f"monitoring_policy.actions.{event}", f"unknown action {action!r} "
                        f"(one of {', '.join(MONITORING_ACTIONS)})", (*path, "actions", event))
            actions[str(event)] = str(action)
    return MonitoringPolicy(str(driver), freeze(params), freeze(actions))


def _vdu(name: str, tpl: Mapping[str, Any], col: Collector) -> Vdu:
    props = as_map(tpl.get("properties"))
    path = col.node_path(name, "properties")
    caps = as_map(as_map(as_map(tpl.get("capabilities")).get("nfv_compute")).get("properties"))
    compute = None
    if caps:
        compute = ComputeProperties(opt_int(caps.get("num_cpus"), col, name, "nfv_compute.num_cpus",
                                            col.node_path(name, "capabilities")),
                                    opt_str(caps.get("mem_size")), opt_str(caps.get("disk_size")))
    artifact = None
    for art_name, art in as_map(tpl.get("artifacts")).items():
        art = art if isinstance(art, Mapping) else {"file": art, "type": "tosca.artifacts.Deployment.Image.VM"}
        if "Image" in str(art.get("type", "")):
            artifact = ImageArtifact(str(art_name), str(art.get("type")), opt_str(art.get("file")) or "")
    if props.get("image") is None and artifact is None:
        col.add(name, "image", "a VDU needs an image property or an image artifact", path)
    if props.get("flavor") is None and compute is None:
        col.add(name, "flavor", "a VDU needs a flavor or nfv_compute capabilities", path)
    return Vdu(name, str(tpl.get("type")), opt_str(props.get("image")), artifact, opt_str(props.get("flavor")),
               compute, opt_str(props.get("availability_zone")), opt_str(props.get("mgmt_driver")),
               opt_str(props.get("config")), opt_str(props.get("user_data")),
               opt_str(props.get("user_data_format")),
               _monitoring(props.get("monitoring_policy"), col, name, (*path, "monitoring_policy")),
               freeze(dict(props)))


def _cp(name: str, tpl: Mapping[str, Any], col: Collector, vdus: set[str], vls: set[str],
        link_from_nsd: set[str]) -> ConnectionPoint:
    props = as_map(tpl.get("properties"))
    path = col.node_path(name, "properties")
    reqs = requirement_targets(tpl)
    vdu = reqs.get("virtualBinding") or reqs.get("binding")
    vl = reqs.get("virtualLink") or reqs.get("link")
    if vdu is None:
        col.add(name, "virtualBinding", "a CP must be bound to a VDU", col.node_path(name, "requirements"))
    elif vdu not in vdus:
        col.add(name, "virtualBinding", f"{vdu!r} is not a VDU of this VNFD", col.node_path(name, "requirements"))
    if vl is None and name not in link_from_nsd:
        col.add(name, "virtualLink", "a CP needs a virtualLink (or one mapped in substitution_mappings)",
                col.node_path(name, "requirements"))
    elif vl is not None and vl not in vls:
        col.add(name, "virtualLink", f"{vl!r} is not a VL of this VNFD", col.node_path(name, "requirements"))
    order = opt_int(props.get("order"), col, name, "order", (*path, "order"))
    if isinstance(order, int) and order < 0:
        col.add(name, "order", "must not be negative", (*path, "order"))
    management = opt_bool(props.get("management"), col, name, "management", (*path, "management"))
    return ConnectionPoint(name, str(vdu or ""), vl, order, management if management is not None else False,
                           opt_bool(props.get("anti_spoofing_protection"), col, name,
                                    "anti_spoofing_protection", (*path, "anti_spoofing_protection")),
                           opt_str(props.get("mac_address")), opt_str(props.get("ip_address")),
                           opt_str(props.get("type")))


def _policies(topo: Mapping[str, Any], col: Collector, types: TypeIndex, vdus: set[str],
              groups: Mapping[str, str]):
    scaling, alarms, placement = [], [], []
    raw_alarms: list[tuple[str, tuple, Mapping[str, Any]]] = []
    raw = topo.get("policies") or []
    items = [(k, v) for p in as_list(raw) for k, v in as_map(p).items()] if isinstance(raw, list) \
        else list(as_map(raw).items())
    for index, (name, pol) in enumerate(items):
        name = str(name)
        path = ("topology_template", "policies", index, name) if isinstance(raw, list) \
            else ("topology_template", "policies", name)
        pol = as_map(pol)
        ptype = pol.get("type")
        props = as_map(pol.get("properties"))
        targets = tuple(str(t) for t in as_list(props.get("targets")) or as_list(pol.get("targets")))
        if types.derives(ptype, SCALING) or types.derives(ptype, PLACEMENT):
            for target in targets:
                if target not in vdus:
                    col.add(name, "targets", f"{target!r} is not a VDU of this VNFD", path)
        if types.derives(ptype, SCALING):
            ints = {k: opt_int(props.get(k), col, name, k, (*path, "properties", k))
                    for k in ("increment", "min_instances", "max_instances", "default_instances", "cooldown")}
            lo, hi, default = ints["min_instances"], ints["max_instances"], ints["default_instances"]
            if isinstance(lo, int) and isinstance(hi, int) and isinstance(default, int) and not lo <= default <= hi:
                col.add(name, "default_instances", f"must lie within min_instances..max_instances "
                        f"({lo}..{hi}), got {default}", (*path, "properties"))
            scaling.append(ScalingPolicy(name, targets, ints["increment"], lo, hi, default,
                                         ints["cooldown"] if ints["cooldown"] is not None else 120))
        elif types.derives(ptype, ALARMING):
            raw_alarms.append((name, path, as_map(pol.get("triggers"))))
        elif types.derives(ptype, PLACEMENT):
            strict = props.get("strict", True)
            placement.append(PlacementPolicy(name, str(props.get("policy", "affinity")),
                                             strict is not False, targets))
    scaling_names = frozenset(p.name for p in scaling)
    for name, path, raw_triggers in raw_alarms:
        if not raw_triggers:
            col.add(name, "triggers", "an alarm policy needs triggers", path)

        def report(field_: str, message: str, name: str = name, path: tuple = path) -> None:
            col.add(name, field_, message, path)

        alarms.append(AlarmPolicy(name, tuple(parse_trigger(str(t), as_map(trig), groups, scaling_names, report)
                                              for t, trig in raw_triggers.items())))
    return tuple(scaling), tuple(alarms), tuple(placement)


def _vnf_type(topo: Mapping[str, Any], data: Mapping[str, Any], col: Collector,
              cps: set[str]) -> VnfType | None:
    subs = topo.get("substitution_mappings")
    if subs is None:
        return None
    path = ("topology_template", "substitution_mappings")
    if not isinstance(subs, Mapping) or not isinstance(subs.get("node_type"), str):
        col.add("substitution_mappings", "node_type", "substitution_mappings needs a node_type", path)
        return None
    node_type = subs["node_type"]
    definition = as_map(as_map(data.get("node_types")).get(node_type))
    if not definition:
        col.add("substitution_mappings", "node_type", f"{node_type!r} is not defined in node_types", path)

    def pairs(section: str) -> dict[str, tuple[str, str]]:
        out = {}
        for key, value in as_map(subs.get(section)).items():
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
                col.add("substitution_mappings", f"{section}.{key}", "expected [NODE, NAME]", (*path, section, key))
            elif value[0] not in cps:
                col.add("substitution_mappings", f"{section}.{key}", f"{value[0]!r} is not a CP of this VNFD",
                        (*path, section, key))
            else:
                out[str(key)] = (value[0], value[1])
        return out

    required = tuple(str(k) for r in as_list(definition.get("requirements")) for k, v in as_map(r).items()
                     if as_map(v).get("required", True) is not False
                     and as_map(v).get("occurrences", [1])[0] != 0)
    return VnfType(node_type, freeze(pairs("requirements")), freeze(pairs("capabilities")), required,
                   freeze(dict(definition)))


def build_vnfd(name: str, data: Mapping[str, Any], topo: Mapping[str, Any], inputs: tuple[InputDef, ...],
               unresolved: frozenset[str], types: TypeIndex, col: Collector) -> Vnfd:
    nodes = list(node_templates(topo))
    vdu_names = {n for n, t in nodes if types.derives(t.get("type"), VDU)}
    vl_names = {n for n, t in nodes if types.derives(t.get("type"), VL)}
    cp_names = {n for n, t in nodes if types.derives(t.get("type"), CP)}
    subs_reqs = as_map(as_map(topo.get("substitution_mappings")).get("requirements"))
    link_from_nsd = {v[0] for v in subs_reqs.values() if isinstance(v, list) and v}
    vdus, cps, vls, storage = [], [], [], {}
    attachments = []
    for node, tpl in nodes:
        ntype = tpl.get("type")
        if node in vdu_names:
            vdus.append(_vdu(node, tpl, col))
        elif node in cp_names:
            cps.append(_cp(node, tpl, col, vdu_names, vl_names, link_from_nsd))
        elif node in vl_names:
            props = as_map(tpl.get("properties"))
            vls.append(VirtualLink(node, opt_str(props.get("network_name")), opt_str(props.get("vendor")),
                                   freeze(dict(props))))
        elif types.derives(ntype, BLOCK_STORAGE):
            props = as_map(tpl.get("properties"))
            storage[node] = BlockStorage(node, opt_str(props.get("size")), opt_str(props.get("image")))
        elif types.derives(ntype, BLOCK_ATTACHMENT):
            attachments.append((node, tpl))
    for node, tpl in attachments:
        reqs = requirement_targets(tpl)
        vol, vdu = reqs.get("virtualAttachment"), reqs.get("virtualBinding")
        if vol not in storage:
            col.add(node, "virtualAttachment", f"{vol!r} is not a block storage node", col.node_path(node))
        elif vdu not in vdu_names:
            col.add(node, "virtualBinding", f"{vdu!r} is not a VDU of this VNFD", col.node_path(node))
        else:
            location = opt_str(as_map(tpl.get("properties")).get("location"))
            old = storage[vol]
            storage[vol] = BlockStorage(old.name, old.size, old.image, vdu, location)
    if not vdus:
        col.add(None, "node_templates", "a VNFD needs at least one VDU", ("topology_template", "node_templates"))
    orders: dict[tuple[str, int], str] = {}
    for cp in cps:
        if isinstance(cp.order, int):
            other = orders.setdefault((cp.vdu, cp.order), cp.name)
            if other != cp.name:
                col.add(cp.name, "order", f"order {cp.order} already used by {other} on {cp.vdu}",
                        col.node_path(cp.name, "properties", "order"))
    scaling, alarms, placement = _policies(topo, col, types, vdu_names,
                                           server_groups({v.name: v.properties for v in vdus}))
    metadata = as_map(data.get("metadata"))
    return Vnfd(name, opt_str(data.get("description")), freeze(dict(metadata)), inputs, tuple(vdus),
                tuple(cps), tuple(vls), tuple(storage.values()), scaling, alarms, placement,
                _vnf_type(topo, data, col, cp_names), unresolved, freeze(dict(as_map(data.get("node_types")))))
