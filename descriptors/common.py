"""Small pure helpers shared by the VNFD, VNFFGD and NSD builders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from descriptors.errors import Collector
from descriptors.inputs import InputRef

# Base types the builders dispatch on (anything derived from them counts).
VDU = "tosca.nodes.nfv.VDU"
CP = "tosca.nodes.nfv.CP"
VL = "tosca.nodes.nfv.VL"
FP = "tosca.nodes.nfv.FP"  # the NFV profile's own FP (not used by Tacker)
FP_TACKER = "tosca.nodes.nfv.FP.Tacker"
FP_TACKER_V2 = "tosca.nodes.nfv.FP.TackerV2"
BLOCK_STORAGE = "tosca.nodes.BlockStorage"
BLOCK_ATTACHMENT = "tosca.nodes.BlockStorageAttachment"
VNFFG_GROUP = "tosca.groups.nfv.VNFFG"
VNF = "tosca.nodes.nfv.VNF"


@dataclass(frozen=True)
class TypeIndex:
    """Type name → definition, for ``derived_from`` walks (predefined + template's own)."""

    defs: Mapping[str, Mapping[str, Any]]

    def lineage(self, name: str) -> list[str]:
        chain, seen = [], set()
        current: Any = name
        while isinstance(current, str) and current not in seen:
            seen.add(current)
            chain.append(current)
            body = self.defs.get(current)
            current = body.get("derived_from") if isinstance(body, Mapping) else None
        return chain

    def derives(self, name: Any, base: str) -> bool:
        return isinstance(name, str) and base in self.lineage(name)

    def known(self, name: Any) -> bool:
        return isinstance(name, str) and name in self.defs


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def node_templates(topo: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, tpl in as_map(topo.get("node_templates")).items():
        if isinstance(tpl, Mapping):
            yield str(name), tpl


def requirement_targets(tpl: Mapping[str, Any]) -> dict[str, str]:
    """``requirements`` list → {name: target node}; accepts short and ``node:`` forms."""
    out: dict[str, str] = {}
    for req in as_list(tpl.get("requirements")):
        for key, value in as_map(req).items():
            target = value.get("node") if isinstance(value, Mapping) else value
            if isinstance(target, str):
                out.setdefault(str(key), target)
    return out


def opt_str(value: Any) -> str | InputRef | None:
    if value is None or isinstance(value, InputRef):
        return value
    return str(value)


def opt_int(value: Any, col: Collector, node: str, field: str, path: tuple) -> int | InputRef | None:
    if value is None or isinstance(value, InputRef):
        return value
    if isinstance(value, bool):
        col.add(node, field, f"expected an integer, got {value!r}", path)
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        col.add(node, field, f"expected an integer, got {value!r}", path)
        return None


def opt_bool(value: Any, col: Collector, node: str, field: str, path: tuple) -> bool | InputRef | None:
    """TOSCA booleans, plus Tacker's habit of passing ``'true'`` through string inputs."""
    if value is None or isinstance(value, (bool, InputRef)):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    col.add(node, field, f"expected true or false, got {value!r}", path)
    return None


def freeze(value: Any) -> Any:
    """Plain YAML data → hashable, immutable equivalent (for frozen dataclass fields)."""
    from types import MappingProxyType

    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of ``freeze``: plain dicts and lists again (for handing to tosca-parser)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value
