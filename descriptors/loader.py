"""Onboarding: text or file → checked, typed VNFD / VNFFGD / NSD, or one ``DescriptorError``.

Order matters for the quality of errors: our own checks run first and name file, node, field
and line; tosca-parser (typing against the NFV profile) runs only on templates that passed
them, so it never drowns a precise message in a generic one.
"""

from __future__ import annotations

import os
from pathlib import Path as FsPath
from typing import Any, Mapping, Union

from descriptors import tosca
from descriptors.common import CP, FP_TACKER, VDU, VNFFG_GROUP, TypeIndex, as_map, node_templates, thaw
from descriptors.errors import Collector, DescriptorError, Issue
from descriptors.inputs import parse_inputs, resolve
from descriptors.nsd import Nsd, build_nsd, vnfd_imports
from descriptors.source import Source, SourceDoc, read_params, read_source
from descriptors.vnfd import Vnfd, build_vnfd
from descriptors.vnffgd import Vnffgd, build_vnffgd

Descriptor = Union[Vnfd, Vnffgd, Nsd]
Params = Union[Mapping[str, Any], str, os.PathLike, None]
VERSIONS = ("tosca_simple_profile_for_nfv_1_0_0", "tosca_simple_yaml_1_0", "tosca_simple_yaml_1_2",
            "tosca_simple_yaml_1_3")


def _params(params: Params) -> dict[str, Any] | None:
    if params is None or isinstance(params, Mapping):
        return None if params is None else dict(params)
    return read_params(params)


def _name(doc: SourceDoc, name: str | None) -> str:
    if name:
        return name
    template_name = as_map(as_map(doc.data).get("metadata")).get("template_name")
    if isinstance(template_name, str) and template_name:
        return template_name
    if doc.file.startswith("<"):
        return "unnamed"
    return FsPath(doc.file).stem


def _shape(doc: SourceDoc, col: Collector) -> Mapping[str, Any] | None:
    data = doc.data
    if not isinstance(data, Mapping):
        col.add(None, None, "a TOSCA template must be a YAML mapping", ())
        return None
    version = data.get("tosca_definitions_version")
    if version is None:
        col.add(None, "tosca_definitions_version", "missing tosca_definitions_version", ())
    elif version not in VERSIONS:
        col.add(None, "tosca_definitions_version", f"unsupported version {version!r} "
                f"(expected {VERSIONS[0]})", ("tosca_definitions_version",))
    topo = data.get("topology_template")
    if not isinstance(topo, Mapping):
        col.add(None, "topology_template", "missing topology_template mapping", ())
        return None
    nodes = topo.get("node_templates")
    if not isinstance(nodes, Mapping) or not nodes:
        col.add(None, "node_templates", "topology_template needs node_templates",
                ("topology_template",))
        return None
    for section in ("node_types", "data_types", "policy_types", "metadata"):
        if data.get(section) is not None and not isinstance(data.get(section), Mapping):
            col.add(None, section, f"{section} must be a mapping", (section,))
    for node, tpl in nodes.items():
        if not isinstance(tpl, Mapping):
            col.add(str(node), None, "a node template must be a mapping", col.node_path(str(node)))
        elif not isinstance(tpl.get("type"), str):
            col.add(str(node), "type", "a node template needs a type", col.node_path(str(node)))
        elif tpl.get("properties") is not None and not isinstance(tpl["properties"], Mapping):
            col.add(str(node), "properties", "properties must be a mapping", col.node_path(str(node)))
        elif tpl.get("requirements") is not None and not isinstance(tpl["requirements"], list):
            col.add(str(node), "requirements", "requirements must be a list", col.node_path(str(node)))
    groups = topo.get("groups")
    if groups is not None and not isinstance(groups, Mapping):
        col.add(None, "groups", "groups must be a mapping", ("topology_template", "groups"))
    return topo if not col.issues else None


def _types(data: Mapping[str, Any], extra: Mapping[str, Any]) -> TypeIndex:
    defs = dict(tosca.base_type_defs())
    defs.update(extra)
    for section in tosca.TYPE_SECTIONS:
        defs.update({k: v for k, v in as_map(data.get(section)).items() if isinstance(v, Mapping)})
    return TypeIndex(defs)


def _check_types(topo: Mapping[str, Any], types: TypeIndex, col: Collector) -> None:
    for node, tpl in node_templates(topo):
        if not types.known(tpl.get("type")):
            col.add(node, "type", f"unknown node type {tpl.get('type')!r}", col.node_path(node, "type"))
    for gname, group in as_map(topo.get("groups")).items():
        gtype = as_map(group).get("type")
        if not types.known(gtype):
            col.add(str(gname), "type", f"unknown group type {gtype!r}", ("topology_template", "groups", gname))


def kind_of(doc: SourceDoc) -> str:
    """VNFD, VNFFGD or NSD, from the node types used (no validation)."""
    data = as_map(doc.data)
    topo = as_map(data.get("topology_template"))
    types = _types(data, {})
    nodes = [t.get("type") for _, t in node_templates(topo)]
    if any(types.derives(t, VDU) or types.derives(t, CP) for t in nodes):
        return "VNFD"
    if vnfd_imports(data) or any(not types.known(t) for t in nodes):
        return "NSD"
    if any(types.derives(t, FP_TACKER) or types.derives(t, FP_TACKER + "V2") for t in nodes) or any(
            as_map(g).get("type") == VNFFG_GROUP for g in as_map(topo.get("groups")).values()):
        return "VNFFGD"
    return "VNFD"


def _load(kind: str | None, src: Source, params: Params, name: str | None,
          vnfds: Mapping[str, Vnfd] | None, file: str | None) -> Descriptor:
    doc = read_source(src, file)
    col = Collector(doc.file, doc.lines)
    try:
        return _load_doc(kind or kind_of(doc), doc, _params(params), name, vnfds, col)
    except DescriptorError:
        raise
    except Exception as exc:  # a shape no check anticipated: still one exception type
        raise DescriptorError([*col.issues, Issue(doc.file, None, None,
                                                  f"malformed descriptor ({type(exc).__name__}: {exc})")]) from exc


def _load_doc(kind: str, doc: SourceDoc, params: dict[str, Any] | None, name: str | None,
              vnfds: Mapping[str, Vnfd] | None, col: Collector) -> Descriptor:
    raw_topo = _shape(doc, col)
    col.raise_if_any()
    assert raw_topo is not None
    data = doc.data
    actual = kind_of(doc)
    if actual != kind:
        col.add(None, None, f"this is a {actual}, not a {kind}")
        col.raise_if_any()
    extra: dict[str, Any] = {}
    if kind == "NSD":
        for index, imp in enumerate(vnfd_imports(data)):
            vnfd = (vnfds or {}).get(imp)
            if vnfd is None:
                col.add(None, "imports", f"{imp!r} names no onboarded VNFD", ("imports", index))
            elif vnfd.vnf_type is None:
                col.add(None, "imports", f"VNFD {imp!r} has no substitution_mappings, so an NSD "
                        "cannot use it", ("imports", index))
            else:
                extra.update(thaw(vnfd.node_types))
        col.raise_if_any()
    types = _types(data, extra)
    _check_types(raw_topo, types, col)
    col.raise_if_any()
    inputs = parse_inputs(raw_topo, col)
    topo, unresolved = resolve(raw_topo, inputs, params, col)
    resolved = {**data, "topology_template": topo}
    title = _name(doc, name)
    model: Descriptor
    if kind == "VNFD":
        model = build_vnfd(title, resolved, topo, inputs, unresolved, types, col)
    elif kind == "VNFFGD":
        model = build_vnffgd(title, resolved, topo, inputs, unresolved, types, col, vnfds)
    else:
        model = build_nsd(title, resolved, topo, inputs, unresolved, types, col, vnfds or {})
    col.raise_if_any()
    tosca.check(resolved, col, {"node_types": extra} if extra else {})
    col.raise_if_any()
    return model


def load_vnfd(src: Source, params: Params = None, *, name: str | None = None, file: str | None = None) -> Vnfd:
    """Load and validate a VNFD. ``params`` (mapping or parameter file) resolve ``get_input``;
    without them unresolved inputs stay ``InputRef``. Raises ``DescriptorError``."""
    return _load("VNFD", src, params, name, None, file)  # type: ignore[return-value]


def load_vnffgd(src: Source, params: Params = None, *, vnfds: Mapping[str, Vnfd] | None = None,
                name: str | None = None, file: str | None = None) -> Vnffgd:
    """Load and validate a VNFFGD; with ``vnfds`` (name → VNFD) hops are checked against CPs."""
    return _load("VNFFGD", src, params, name, vnfds, file)  # type: ignore[return-value]


def load_nsd(src: Source, params: Params = None, *, vnfds: Mapping[str, Vnfd], name: str | None = None,
             file: str | None = None) -> Nsd:
    """Load and validate an NSD whose ``imports`` name VNFDs in ``vnfds`` (name → VNFD)."""
    return _load("NSD", src, params, name, vnfds, file)  # type: ignore[return-value]


def detect_kind(src: Source, file: str | None = None) -> str:
    """VNFD, VNFFGD or NSD (raises ``DescriptorError`` only for unreadable YAML)."""
    return kind_of(read_source(src, file))


def load_any(src: Source, params: Params = None, *, vnfds: Mapping[str, Vnfd] | None = None,
             name: str | None = None, file: str | None = None) -> Descriptor:
    """Load whichever kind of descriptor ``src`` is (see ``detect_kind``)."""
    return _load(None, src, params, name, vnfds, file)
