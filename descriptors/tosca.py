"""The one module that imports toscaparser: type checking against the NFV profile.

tosca-parser stays the authority on TOSCA typing (properties, data types, constraints), but
we hand it a prepared dict rather than Tacker's raw template:

- Tacker's types are pre-merged from the bundled copies (no imports to read, no network);
- ``link``/``binding`` are filled from ``virtualLink``/``virtualBinding``, because since
  tosca-parser 2.13 the occurrences check also counts the requirements a CP inherits from
  ``tosca.nodes.network.Port`` and Tacker's templates only name the NFV ones;
- a CP whose virtual link is supplied by an NSD (named in ``substitution_mappings``) is
  excused from that check;
- the NFV profile definitions tosca-parser re-reads on every template are memoised.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import threading
from importlib import resources
from typing import Any, Mapping

import yaml

from descriptors.errors import Collector
from descriptors.inputs import InputRef

NFV_VERSION = "tosca_simple_profile_for_nfv_1_0_0"
TACKER_TYPE_FILES = ("tacker_defs.yaml", "tacker_nfv_defs.yaml")
TYPE_SECTIONS = ("data_types", "node_types", "policy_types", "capability_types",
                 "relationship_types", "group_types", "interface_types", "artifact_types")

logging.getLogger("tosca").addHandler(logging.NullHandler())
_LOCK = threading.Lock()  # tosca-parser keeps its error list in class state


@functools.lru_cache(maxsize=None)
def tacker_types() -> Mapping[str, Mapping[str, Any]]:
    """Sections of the two bundled Tacker type files, merged (parsed once per process)."""
    merged: dict[str, dict[str, Any]] = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for name in TACKER_TYPE_FILES:
        text = resources.files("descriptors.types").joinpath(name).read_text(encoding="utf-8")
        for section, body in (yaml.load(text, Loader=loader) or {}).items():
            merged.setdefault(section, {}).update(body or {})
    return merged


@functools.lru_cache(maxsize=None)
def _toscaparser():
    """Import tosca-parser lazily and memoise its per-template profile reload."""
    from toscaparser import tosca_template
    from toscaparser.common.exception import ExceptionCollector
    from toscaparser.elements import entity_type

    original = entity_type.update_definitions
    applied: dict[str, dict[str, Any]] = {}

    def update_definitions(version: str) -> None:
        # The extension's definitions never change, so re-apply a parsed copy rather than
        # re-reading and re-parsing the YAML profile on every ToscaTemplate.
        if version not in applied:
            before = dict(entity_type.EntityType.TOSCA_DEF)
            original(version)
            applied[version] = {k: v for k, v in entity_type.EntityType.TOSCA_DEF.items()
                                if before.get(k) is not v}
        entity_type.EntityType.TOSCA_DEF.update(applied[version])

    tosca_template.update_definitions = update_definitions

    class TackerToscaTemplate(tosca_template.ToscaTemplate):
        excused: frozenset[str] = frozenset()

        def _validate_relationship_occurences(self) -> None:
            for tpl in self.nodetemplates:
                if tpl.name not in self.excused:
                    tpl._validate_relationship_occurrences()

    return TackerToscaTemplate, ExceptionCollector, entity_type


@functools.lru_cache(maxsize=None)
def base_type_defs() -> Mapping[str, Mapping[str, Any]]:
    """Every predefined type (TOSCA, NFV profile, Tacker) by name, for derivation checks."""
    _toscaparser()
    from toscaparser import tosca_template
    from toscaparser.elements.entity_type import EntityType

    tosca_template.update_definitions(NFV_VERSION)
    defs: dict[str, Mapping[str, Any]] = {k: v for k, v in EntityType.TOSCA_DEF.items()
                                          if isinstance(v, Mapping)}
    for body in tacker_types().values():
        defs.update(body)
    return defs


def _unref(value: Any) -> Any:
    if isinstance(value, InputRef):
        return {"get_input": value.name}
    if isinstance(value, dict):
        return {k: _unref(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unref(v) for v in value]
    return value


def _fill_port_requirements(nodes: Mapping[str, Any]) -> None:
    for tpl in nodes.values():
        if not isinstance(tpl, dict) or not isinstance(tpl.get("requirements"), list):
            continue
        reqs = tpl["requirements"]
        names = {k for r in reqs if isinstance(r, dict) for k in r}
        extra = []
        for req in reqs:
            if not isinstance(req, dict):
                continue
            for key, value in req.items():
                if key == "virtualLink" and "link" not in names:
                    extra.append({"link": copy.deepcopy(value)})
                elif key == "virtualBinding" and "binding" not in names:
                    extra.append({"binding": copy.deepcopy(value)})
        reqs.extend(extra)


def _excused_cps(topo: Mapping[str, Any]) -> frozenset[str]:
    subs = topo.get("substitution_mappings")
    if not isinstance(subs, Mapping) or not isinstance(subs.get("requirements"), Mapping):
        return frozenset()
    return frozenset(str(v[0]) for v in subs["requirements"].values()
                     if isinstance(v, list) and v and isinstance(v[0], str))


def prepare(data: Mapping[str, Any], extra_types: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The dict tosca-parser gets: inputs unresolved back to functions, types merged in."""
    tpl = _unref(dict(data))
    tpl.pop("imports", None)
    for section in TYPE_SECTIONS:
        merged = dict(copy.deepcopy(tacker_types().get(section, {})))
        merged.update(copy.deepcopy(extra_types.get(section, {})))
        merged.update(tpl.get(section) or {})
        if merged:
            tpl[section] = merged
    topo = tpl.get("topology_template")
    if isinstance(topo, dict) and isinstance(topo.get("node_templates"), dict):
        _fill_port_requirements(topo["node_templates"])
    return tpl


_NODE_RE = re.compile(r'(?:template|Node template|node template) "([^"]+)"')
_FIELD_RES = (re.compile(r'(?:field|property|Property|parameter) "([^"]+)"'),
              re.compile(r'of property "([^"]+)"'))


_VALUE_RE = re.compile(r'value "([^"]*)"')


def _node_with(nodes: Mapping[str, Any], field: str, value: re.Match | None) -> str | None:
    """Constraint errors name only the property: find the node whose value it was."""
    owners = [n for n, t in nodes.items() if isinstance(t, Mapping)
              and isinstance(t.get("properties"), Mapping) and field in t["properties"]
              and (value is None or str(t["properties"][field]) == value.group(1))]
    return owners[0] if len(owners) == 1 else None


def check(data: Mapping[str, Any], col: Collector,
          extra_types: Mapping[str, Mapping[str, Any]] = {}) -> None:
    """Run tosca-parser over ``data``; every exception it collects becomes an issue."""
    template_cls, collector, _ = _toscaparser()
    tpl = prepare(data, extra_types)
    raw_topo = tpl.get("topology_template")
    topo: Mapping[str, Any] = raw_topo if isinstance(raw_topo, dict) else {}
    with _LOCK:
        template_cls.excused = _excused_cps(topo)
        try:
            template_cls(a_file=False, yaml_dict_tpl=tpl)
            return
        except Exception as exc:  # tosca-parser raises many types; all mean "invalid"
            found = list(collector.getExceptions()) or [exc]
            collector.clear()
    seen = set()
    for error in found:
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        message = message.strip().splitlines()[0] if message.strip() else type(error).__name__
        if message in seen:
            continue
        seen.add(message)
        raw_nodes = topo.get("node_templates")
        nodes: Mapping[str, Any] = raw_nodes if isinstance(raw_nodes, dict) else {}
        node_m = _NODE_RE.search(message)
        node = node_m.group(1) if node_m and node_m.group(1) in nodes else None
        field = next((m.group(1) for r in _FIELD_RES if (m := r.search(message))), None)
        if node is None and field is not None:
            node = _node_with(nodes, field, _VALUE_RE.search(message))
        path = col.node_path(node, "properties", field) if node and field else (
            col.node_path(node) if node else ())
        col.add(node, field, f"{type(error).__name__}: {message}", path)
