"""Template inputs and ``get_input``: declared inputs, parameter values, substitution.

Resolution happens on the plain dict before tosca-parser and the model builders see it, so
constraints are checked against the operator's real values. Without parameters (onboarding a
VNFD whose values come at instantiation) unresolved references stay as ``InputRef``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from descriptors.errors import Collector


@dataclass(frozen=True)
class InputRef:
    """A ``get_input`` whose value is not known yet (no parameters given)."""

    name: str

    def __str__(self) -> str:
        return f"{{get_input: {self.name}}}"


@dataclass(frozen=True)
class InputDef:
    """A declared template input (``topology_template.inputs``)."""

    name: str
    type: str
    description: str | None = None
    default: Any = None
    required: bool = True

    @property
    def needs_value(self) -> bool:
        return self.required and self.default is None


def parse_inputs(topo: Mapping[str, Any], col: Collector) -> tuple[InputDef, ...]:
    raw = topo.get("inputs") or {}
    if not isinstance(raw, Mapping):
        col.add(None, "inputs", "inputs must be a mapping", ("topology_template", "inputs"))
        return ()
    out = []
    for name, spec in raw.items():
        path = ("topology_template", "inputs", name)
        if not isinstance(spec, Mapping):
            col.add(None, f"inputs.{name}", "input definition must be a mapping", path)
            continue
        required = spec.get("required", True)
        out.append(InputDef(str(name), str(spec.get("type", "string")), spec.get("description"),
                            spec.get("default"), required is not False))
    return tuple(out)


def is_get_input(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and "get_input" in value


def resolve(
    data: Any,
    inputs: tuple[InputDef, ...],
    params: Mapping[str, Any] | None,
    col: Collector,
) -> tuple[Any, frozenset[str]]:
    """Replace every ``{get_input: x}`` in ``data``; return the new tree and unresolved names.

    With ``params`` given every referenced input must get a value (parameter or default);
    with ``params=None`` inputs without a default stay as ``InputRef``.
    """
    declared = {i.name: i for i in inputs}
    unresolved: set[str] = set()
    missing: set[str] = set()

    def walk(value: Any, path: tuple) -> Any:
        if is_get_input(value):
            arg = value["get_input"]
            name = arg[0] if isinstance(arg, list) and len(arg) == 1 else arg
            if not isinstance(name, str):
                col.add(_node_of(path), _field_of(path), f"get_input takes one input name, got {arg!r}", path)
                return value
            if params is not None and name in params:
                return params[name]
            spec = declared.get(name)
            if spec is None:
                col.add(_node_of(path), _field_of(path), f"get_input {name!r} names no declared input", path)
                return InputRef(name)
            if spec.default is not None:
                return spec.default
            if params is not None:
                if name not in missing:
                    missing.add(name)
                    col.add(None, f"inputs.{name}", f"required input {name!r} has no value "
                            "(not in the parameters and no default)", ("topology_template", "inputs", name))
                return InputRef(name)
            unresolved.add(name)
            return InputRef(name)
        if isinstance(value, Mapping):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        return value

    if params is not None:
        for spec in inputs:
            if spec.needs_value and spec.name not in params and spec.name not in missing:
                missing.add(spec.name)
                col.add(None, f"inputs.{spec.name}", f"required input {spec.name!r} has no value "
                        "(not in the parameters and no default)", ("topology_template", "inputs", spec.name))
    return walk(data, ("topology_template",)), frozenset(unresolved)


def _node_of(path: tuple) -> str | None:
    if len(path) > 2 and path[1] in ("node_templates", "groups"):
        return str(path[2])
    if len(path) > 2 and path[1] == "policies":
        return str(path[2]) if not isinstance(path[2], int) else None
    return None


def _field_of(path: tuple) -> str | None:
    rest = [str(p) for p in path[3:] if p not in ("properties",)]
    return ".".join(rest) or None
