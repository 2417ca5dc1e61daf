"""Reading descriptor and parameter text: YAML with a line for every key.

The loader reports errors by line, so the document is composed once (libyaml when present)
and the node tree walked for positions before it is constructed into plain dicts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, Mapping, TypeGuard, Union

import yaml

from descriptors.errors import DescriptorError, Issue, Path

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Source = Union[str, bytes, os.PathLike, Mapping[str, Any]]


@dataclass(frozen=True)
class SourceDoc:
    """A parsed YAML document, the name to report it under, and key positions."""

    file: str
    data: Any
    lines: Mapping[Path, int]


def _walk(node: yaml.Node, path: Path, out: dict[Path, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                sub = (*path, key.value)
                out[sub] = key.start_mark.line + 1
                _walk(value, sub, out)
                out[sub] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), out)


def parse_yaml(text: str, file: str) -> SourceDoc:
    """Parse ``text``; a YAML error becomes a ``DescriptorError`` with the offending line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        msg = " ".join(p for p in (exc.context, exc.problem) if p)
        raise DescriptorError([Issue(file, None, None, f"malformed YAML: {msg}", line)]) from None
    except yaml.YAMLError as exc:
        raise DescriptorError([Issue(file, None, None, f"malformed YAML: {exc}")]) from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return SourceDoc(file, data, lines)


def _is_path(src: Any) -> TypeGuard[str | os.PathLike[str]]:
    if isinstance(src, os.PathLike):
        return True
    return isinstance(src, str) and "\n" not in src and src.strip().endswith((".yaml", ".yml"))


def read_source(src: Source, file: str | None = None) -> SourceDoc:
    """Accept a path, YAML text, bytes or an already parsed mapping."""
    if isinstance(src, Mapping):
        return SourceDoc(file or "<dict>", src, {})
    if _is_path(src):
        path = FsPath(os.fspath(src))
        name = file or str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DescriptorError([Issue(name, None, None, f"cannot read file: {exc}")]) from None
        return parse_yaml(text, name)
    if isinstance(src, bytes):
        try:
            src = src.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DescriptorError([Issue(file or "<text>", None, None, f"not UTF-8: {exc}")]) from None
    if not isinstance(src, str):
        raise DescriptorError([Issue(file or "<input>", None, None,
                                     f"cannot load a descriptor from {type(src).__name__}")])
    return parse_yaml(src, file or "<text>")


_WRAPPERS = ("nsd", "vnfd", "vnffgd", "vnf", "vnffg", "ns", "param_values")


def read_params(src: Source | None, file: str | None = None) -> dict[str, Any] | None:
    """Parameter values for ``get_input``: a flat mapping, or one wrapped as Tacker's
    ``nsd:``/``vnffg:`` parameter files do."""
    if src is None:
        return None
    doc = read_source(src, file)
    data = doc.data
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise DescriptorError([Issue(doc.file, None, None, "parameter file must be a mapping")])
    if len(data) == 1:
        (key, value), = data.items()
        if key in _WRAPPERS and isinstance(value, Mapping):
            data = value
    return {str(k): v for k, v in data.items()}
