"""The one record codec: frozen dataclasses <-> JSON-able values, driven by type hints.

Both stores keep records as JSON documents (vnfm's VNFs, specs and events; nfvo's catalog, VNFFG
and NS records) and both use this codec, so a field type added to a record is coded once.
Handles nested dataclasses, tuples (``tuple[X, ...]`` and fixed), ``X | None`` and other unions
(the first alternative, in declared order but ``str`` last, that the JSON value fits), mappings, enums and ``ipaddress``
networks, interfaces and addresses (as their text). Fields missing from stored data take their
defaults, so documents written before a field existed still load.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import types
import typing
from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")

_IP_TYPES = (ipaddress.IPv4Network, ipaddress.IPv6Network, ipaddress.IPv4Interface, ipaddress.IPv6Interface,
             ipaddress.IPv4Address, ipaddress.IPv6Address)


def to_json(obj: Any) -> Any:
    """``obj`` as dicts, lists and scalars (what ``json.dumps`` takes)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, _IP_TYPES):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (tuple, list)):
        return [to_json(v) for v in obj]
    return obj


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` from what ``to_json`` made of it."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _from_union(typing.get_args(tp), data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{f.name: from_json(hints[f.name], data[f.name])
                     for f in dataclasses.fields(tp) if f.name in data})
    if isinstance(tp, type) and issubclass(tp, (Enum, *_IP_TYPES)):
        return tp(data)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], v) for v in data)
        return tuple(from_json(a, v) for a, v in zip(args, data, strict=False))
    if origin in (dict, Mapping, typing.Mapping):
        key, value = typing.get_args(tp) or (Any, Any)
        return {from_json(key, k): from_json(value, v) for k, v in data.items()}
    return data


def _from_union(alternatives: tuple[Any, ...], data: Any) -> Any:
    if data is None and type(None) in alternatives:
        return None
    for alt in sorted(alternatives, key=lambda alt: alt is str):  # str last: text may be a network
        if alt is not type(None) and _fits(alt, data):
            try:
                return from_json(alt, data)
            except (ValueError, TypeError, KeyError):
                continue  # e.g. text that is not a network: try the next alternative
    return data


def _fits(tp: Any, data: Any) -> bool:
    """Whether JSON ``data`` has the shape ``to_json`` gives a ``tp``."""
    origin = typing.get_origin(tp) or tp
    if tp is Any:
        return True
    if origin is tuple or origin is list:
        return isinstance(data, list)
    if isinstance(origin, type) and (dataclasses.is_dataclass(origin) or issubclass(origin, Mapping)):
        return isinstance(data, Mapping)
    if origin is dict:
        return isinstance(data, Mapping)
    if origin is bool:
        return isinstance(data, bool)
    if origin is int:
        return isinstance(data, int) and not isinstance(data, bool)
    if origin is float:
        return isinstance(data, (int, float)) and not isinstance(data, bool)
    if isinstance(origin, type) and issubclass(origin, Enum):
        return True  # from_json raises ValueError for a value the enum lacks
    if isinstance(origin, type) and issubclass(origin, (str, *_IP_TYPES)):
        return isinstance(data, str)
    return True
