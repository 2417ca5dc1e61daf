"""The desired-state document: what an operator (or the NFVO) asks the controller for.

One document is the whole desired SFC state: switches, service functions (their switch ports;
several instances allowed) and service function paths (ordered hops plus classifiers). It is
parsed and checked completely before anything touches a switch, and every error names the
element it is about, e.g. ``service_function_paths[web].classifiers[http].match.tcp_dst``.

Format (YAML or JSON)::

    switches:
      - {name: sff1, dpid: 0x1}
    service_functions:
      - name: fw
        instances: [{switch: sff1, port: fw0}, {switch: sff1, port: fw1}]
      - name: bump                  # NSH-unaware: gets plain frames on port, returns them on egress_port
        nsh_aware: false
        instances: [{switch: sff1, port: bumpA, egress_port: bumpB}]
    service_function_paths:
      - name: web
        spi: 7
        hops: [fw, bump, ids]
        classifiers:
          - {name: http, switch: sff1, in_port: client, match: {tcp_dst: 80}}

NSH-unaware SFs (Tacker's ``sfc_encap: false``) are proxied by the switch: NSH comes off before
``port``; what returns on ``egress_port`` (default ``port``) is classified again by the path's
own classifiers (same matches, in_port = egress_port) and re-enters the path after that hop.
Hence the SF must leave the matched fields alone, and re-classification must be unambiguous:
one egress port may not re-classify an identical match for two paths (or twice for one path),
and a path through an unaware SF may not have identical matches on different in_ports (the
ingress port, restored at the path's end, could not be told apart). A symmetric chain's reverse
path passes the same SF backwards: it names a twin SF whose instances swap ``port`` and
``egress_port`` -- the one case where SFs may share ports (both unaware, exactly swapped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

import yaml

from sdn.openflow import MatchValue
from sdn.match import MatchError, compile_match

MAX_SPI = (1 << 24) - 1
MAX_HOPS = 254  # SI starts at 255; the path's end must still be representable
DEFAULT_CLASSIFIER_PRIORITY = 100


class DocumentError(ValueError):
    """The document is malformed or inconsistent; ``element`` says where."""

    def __init__(self, element: str, message: str):
        super().__init__(f"{element}: {message}" if element else message)
        self.element = element


@dataclass(frozen=True)
class Switch:
    name: str
    dpid: int


@dataclass(frozen=True)
class SfInstance:
    switch: str
    port: str
    egress_port: str = ""  # NSH-unaware SFs: where frames come back ("" = port)

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
class Classifier:
    name: str
    switch: str
    in_port: str
    matches: tuple[tuple[tuple[str, MatchValue], ...], ...]  # compiled; ORed
    priority: int = DEFAULT_CLASSIFIER_PRIORITY


@dataclass(frozen=True)
class ServicePath:
    name: str
    spi: int
    hops: tuple[str, ...]
    classifiers: tuple[Classifier, ...]
    source: Any = field(default=None, compare=False, hash=False, repr=False)  # the entry as written

    @property
    def end_si(self) -> int:
        """The SI a packet carries after its last SF: where the path ends and NSH comes off."""
        return 255 - len(self.hops)


@dataclass(frozen=True)
class SfcDocument:
    switches: tuple[Switch, ...] = ()
    service_functions: tuple[ServiceFunction, ...] = ()
    paths: tuple[ServicePath, ...] = ()

    def switch(self, name: str) -> Switch:
        return next(s for s in self.switches if s.name == name)

    def function(self, name: str) -> ServiceFunction:
        return next(f for f in self.service_functions if f.name == name)


def load_document(text: str, source: str = "document") -> SfcDocument:
    """Parse YAML or JSON text (JSON is YAML) into a checked document."""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DocumentError(source, f"not valid YAML/JSON{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_document(data or {})


def parse_document(data: Any) -> SfcDocument:
    if not isinstance(data, Mapping):
        raise DocumentError("", f"the document must be a mapping, not {type(data).__name__}")
    unknown = set(data) - {"switches", "service_functions", "service_function_paths", "apiVersion", "kind"}
    if unknown:
        raise DocumentError(sorted(unknown)[0], "unknown top-level key")
    switches = _parse_switches(_list(data, "switches"))
    functions = _parse_functions(_list(data, "service_functions"), {s.name for s in switches})
    paths = _parse_paths(_list(data, "service_function_paths"), switches, functions)
    return SfcDocument(switches, functions, paths)


def _list(data: Mapping, key: str, where: str = "") -> list:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise DocumentError(f"{where}{key}", f"must be a list, not {type(value).__name__}")
    return value


def _entry(item: Any, where: str, allowed: set[str]) -> Mapping:
    if not isinstance(item, Mapping):
        raise DocumentError(where, f"must be a mapping, not {type(item).__name__}")
    unknown = set(item) - allowed
    if unknown:
        raise DocumentError(f"{where}.{sorted(map(str, unknown))[0]}", "unknown key")
    return item


def _name(item: Mapping, where: str) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DocumentError(f"{where}.name", "a non-empty string is required")
    return name


def _int_field(item: Mapping, key: str, where: str, low: int, high: int) -> int:
    value = item.get(key)
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            pass
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DocumentError(f"{where}.{key}", f"must be an integer in {low}..{high}, got {value!r}")
    return value


def _parse_switches(items: list) -> tuple[Switch, ...]:
    out: dict[str, Switch] = {}
    dpids: dict[int, str] = {}
    for i, item in enumerate(items):
        where = f"switches[{i}]"
        item = _entry(item, where, {"name", "dpid"})
        name = _name(item, where)
        where = f"switches[{name}]"
        dpid = _int_field(item, "dpid", where, 1, (1 << 64) - 1)
        if name in out:
            raise DocumentError(where, "duplicate switch name")
        if dpid in dpids:
            raise DocumentError(f"{where}.dpid", f"dpid {dpid:#x} is also switch {dpids[dpid]}")
        out[name], dpids[dpid] = Switch(name, dpid), name
    return tuple(out.values())


def _port_ref(item: Any, where: str, switches: set[str]) -> SfInstance:
    item = _entry(item, where, {"switch", "port", "egress_port"})
    switch, port = item.get("switch"), item.get("port")
    if switch not in switches:
        raise DocumentError(f"{where}.switch", f"unknown switch {switch!r}")
    for key, value in (("port", port), ("egress_port", item.get("egress_port", port))):
        if not isinstance(value, str) or not value:
            raise DocumentError(f"{where}.{key}", "a port name is required")
    egress = item.get("egress_port", "")
    return SfInstance(switch, port, "" if egress == port else egress)


def _parse_functions(items: list, switches: set[str]) -> tuple[ServiceFunction, ...]:
    out: dict[str, ServiceFunction] = {}
    used_ports: dict[tuple[str, str], tuple[str, bool, tuple[str, str]]] = {}  # -> (SF, aware, (in, out))
    for i, item in enumerate(items):
        item = _entry(item, f"service_functions[{i}]", {"name", "instances", "nsh_aware"})
        name = _name(item, f"service_functions[{i}]")
        where = f"service_functions[{name}]"
        if name in out:
            raise DocumentError(where, "duplicate service function name")
        aware = item.get("nsh_aware", True)
        if not isinstance(aware, bool):
            raise DocumentError(f"{where}.nsh_aware", f"must be true or false, not {aware!r}")
        raw_instances = _list(item, "instances", f"{where}.")
        if not raw_instances:
            raise DocumentError(f"{where}.instances", "at least one instance is required")
        instances = []
        for j, raw in enumerate(raw_instances):
            iwhere = f"{where}.instances[{j}]"
            inst = _port_ref(raw, iwhere, switches)
            if aware and inst.egress_port:
                raise DocumentError(f"{iwhere}.egress_port", "only NSH-unaware SFs (nsh_aware: false) "
                                    "return traffic on another port")
            pair = (inst.port, inst.egress)
            for key, port in zip(("port", "egress_port"), inst.ports):
                other = used_ports.get((inst.switch, port))
                twin = other is not None and not aware and not other[1] and other[2] == pair[::-1] \
                    and other[0] != name
                if other is not None and not twin:
                    raise DocumentError(f"{iwhere}.{key}", f"port {port} on {inst.switch} is already used by "
                                        f"{other[0]} (only NSH-unaware SFs with swapped port and "
                                        "egress_port may share ports)")
            for port in inst.ports:
                used_ports[(inst.switch, port)] = (name, aware, pair)
            instances.append(inst)
        if len({inst.switch for inst in instances}) > 1:
            raise DocumentError(f"{where}.instances", "all instances of one SF must be on one switch")
        out[name] = ServiceFunction(name, tuple(instances), aware)
    return tuple(out.values())


class _PathIndex:
    """What later paths are checked against: SPIs, classifier names, exact matches and
    re-classification keys (after NSH-unaware SFs) in use."""

    def __init__(self, switches: tuple[Switch, ...], functions: tuple[ServiceFunction, ...]):
        self.by_fn = {f.name: f for f in functions}
        self.sf_ports = {(inst.switch, p) for f in functions for inst in f.instances for p in inst.ports}
        self.names: set[str] = set()
        self.spis: dict[int, str] = {}
        self.classifiers: dict[str, str] = {}
        self.matches: dict[tuple, str] = {}
        self.reclassify: dict[tuple, str] = {}

    def add(self, path: ServicePath) -> None:
        self.names.add(path.name)
        self.spis[path.spi] = path.name
        for c in path.classifiers:
            self.classifiers[c.name] = path.name
            for m in c.matches:
                self.matches[(c.switch, c.in_port, c.priority, m)] = f"{path.name}/{c.name}"
        for key, _, c in reclassify_keys(path, self.by_fn):
            self.reclassify[key] = f"{path.name}/{c.name}"


def reclassify_keys(path: ServicePath, by_fn: Mapping[str, ServiceFunction]
                    ) -> Iterator[tuple[tuple, int, Classifier]]:
    """(switch, egress port, priority, match), hop index, classifier: one per flow that
    re-classifies traffic coming back from an NSH-unaware hop of ``path``."""
    for j, hop in enumerate(path.hops):
        fn = by_fn[hop]
        if fn.nsh_aware:
            continue
        for inst in fn.instances:
            for c in path.classifiers:
                for m in c.matches:
                    yield (inst.switch, inst.egress, c.priority, m), j, c


def _check_reclassify(path: ServicePath, where: str, index: _PathIndex) -> None:
    local: dict[tuple, tuple[int, Classifier]] = {}
    for key, j, c in reclassify_keys(path, index.by_fn):
        cwhere = f"{where}.classifiers[{c.name}].match"
        hop, port = path.hops[j], key[1]
        if key in index.reclassify:
            raise DocumentError(cwhere, f"traffic back from NSH-unaware SF {hop} on port {port} would be "
                                f"re-classified identically for classifier {index.reclassify[key]}")
        if key in local:
            other_j, other = local[key]
            if other_j != j:
                raise DocumentError(f"{where}.hops[{j}]", f"port {port} returns traffic of hop "
                                    f"{other_j} too: NSH-unaware hops cannot be told apart")
            raise DocumentError(cwhere, f"identical to classifier {other.name} on in_port {other.in_port}: "
                                f"after NSH-unaware SF {hop} the ingress port cannot be told apart")
        local[key] = (j, c)


def _parse_paths(items: list, switches: tuple[Switch, ...],
                 functions: tuple[ServiceFunction, ...]) -> tuple[ServicePath, ...]:
    index = _PathIndex(switches, functions)
    out = []
    for i, item in enumerate(items):
        path = _parse_path(item, f"service_function_paths[{i}]", index)
        index.add(path)
        out.append(path)
    return tuple(out)


def with_paths(doc: SfcDocument, upsert: list, remove: set[str] = frozenset()) -> SfcDocument:
    """``doc`` with paths added/replaced (raw entries) and removed by name.

    Only the new entries are parsed and checked (against an index of the kept paths), so one
    more path on a document holding thousands costs one path's work.
    """
    replaced = {item.get("name") for item in upsert if isinstance(item, Mapping)}
    missing = set(remove) - {p.name for p in doc.paths}
    if missing:
        raise DocumentError(f"service_function_paths[{sorted(missing)[0]}]", "no such path")
    kept = [p for p in doc.paths if p.name not in remove and p.name not in replaced]
    index = _PathIndex(doc.switches, doc.service_functions)
    for path in kept:
        index.add(path)
    added = []
    for i, item in enumerate(upsert):
        path = _parse_path(item, f"service_function_paths[{i}]", index)
        index.add(path)
        added.append(path)
    return replace(doc, paths=tuple(kept + added))


def _parse_path(item: Any, where: str, index: _PathIndex) -> ServicePath:
    by_fn, sf_ports = index.by_fn, index.sf_ports
    item = _entry(item, where, {"name", "spi", "hops", "classifiers"})
    name = _name(item, where)
    where = f"service_function_paths[{name}]"
    if name in index.names:
        raise DocumentError(where, "duplicate path name")
    spi = _int_field(item, "spi", where, 1, MAX_SPI)
    if spi in index.spis:
        raise DocumentError(f"{where}.spi", f"SPI {spi} is already used by path {index.spis[spi]}")
    hops = _list(item, "hops", f"{where}.")
    if not hops:
        raise DocumentError(f"{where}.hops", "at least one hop is required")
    if len(hops) > MAX_HOPS:
        raise DocumentError(f"{where}.hops", f"{len(hops)} hops exceed the {MAX_HOPS} the SI can count")
    for j, hop in enumerate(hops):
        if not isinstance(hop, str) or hop not in by_fn:
            raise DocumentError(f"{where}.hops[{j}]", f"unknown service function {hop!r}")
    path_switches = {by_fn[h].instances[0].switch for h in hops}
    if len(path_switches) > 1:
        raise DocumentError(f"{where}.hops", "all hops of a path must be on one switch "
                            f"(found {', '.join(sorted(path_switches))}); inter-SFF links are not supported yet")
    (path_switch,) = path_switches
    classifiers: list[Classifier] = []
    local_matches: dict[tuple, str] = {}
    for j, raw in enumerate(_list(item, "classifiers", f"{where}.")):
        cwhere = f"{where}.classifiers[{j}]"
        raw = _entry(raw, cwhere, {"name", "switch", "in_port", "match", "priority"})
        cname = _name(raw, cwhere)
        cwhere = f"{where}.classifiers[{cname}]"
        if cname in index.classifiers or any(c.name == cname for c in classifiers):
            other = index.classifiers.get(cname, name)
            raise DocumentError(cwhere, f"duplicate classifier name (also in path {other})")
        switch = raw.get("switch", path_switch)
        if switch != path_switch:
            raise DocumentError(f"{cwhere}.switch", f"must be the path's switch {path_switch!r}")
        in_port = raw.get("in_port")
        if not isinstance(in_port, str) or not in_port:
            raise DocumentError(f"{cwhere}.in_port", "the port where classified traffic enters is required")
        if (switch, in_port) in sf_ports:
            raise DocumentError(f"{cwhere}.in_port", f"port {in_port} is a service function port")
        match = raw.get("match", {}) or {}
        if not isinstance(match, Mapping):
            raise DocumentError(f"{cwhere}.match", "must be a mapping of field: value")
        try:
            compiled = compile_match(match)
        except MatchError as exc:
            raise DocumentError(f"{cwhere}.match.{exc.field}", str(exc).split(": ", 1)[-1]) from None
        priority = _int_field(raw, "priority", cwhere, 1, 60000) if "priority" in raw else DEFAULT_CLASSIFIER_PRIORITY
        for m in compiled:
            key = (switch, in_port, priority, m)
            other = index.matches.get(key) or local_matches.get(key)
            if other:
                raise DocumentError(f"{cwhere}.match", f"identical to classifier {other}")
            local_matches[key] = f"{name}/{cname}"
        classifiers.append(Classifier(cname, switch, in_port, tuple(compiled), priority))
    path = ServicePath(name, spi, tuple(hops), tuple(classifiers), json.loads(json.dumps(item, default=str)))
    _check_reclassify(path, where, index)
    return path


def document_to_dict(doc: SfcDocument) -> dict[str, Any]:
    """The applied form for ``nfv sfc show``: paths with their compiled matches."""
    return {
        **document_source(doc),
        "service_function_paths": [
            {"name": p.name, "spi": p.spi, "hops": list(p.hops),
             "classifiers": [{"name": c.name, "switch": c.switch, "in_port": c.in_port,
                              "priority": c.priority,
                              "matches": [dict((k, list(v) if isinstance(v, tuple) else v) for k, v in m)
                                          for m in c.matches]} for c in p.classifiers]}
            for p in doc.paths],
    }


def document_source(doc: SfcDocument) -> dict[str, Any]:
    """The document in its input form (paths as written), for persisting and re-parsing."""
    return {
        "switches": [{"name": s.name, "dpid": s.dpid} for s in doc.switches],
        "service_functions": [_function_dict(f) for f in doc.service_functions],
        "service_function_paths": [p.source for p in doc.paths],
    }


def _function_dict(fn: ServiceFunction) -> dict[str, Any]:
    """Aware SFs keep their original two-key form (stored documents stay byte-identical)."""
    out: dict[str, Any] = {"name": fn.name, "instances": [
        {"switch": i.switch, "port": i.port, **({"egress_port": i.egress_port} if i.egress_port else {})}
        for i in fn.instances]}
    if not fn.nsh_aware:
        out["nsh_aware"] = False
    return out


def dumps(doc: SfcDocument) -> str:
    return json.dumps(document_to_dict(doc), sort_keys=True)
