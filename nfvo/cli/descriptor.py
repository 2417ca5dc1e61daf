"""``nfv descriptor validate FILE...``: offline onboarding check of VNFD / VNFFGD / NSD files.

VNFDs are loaded first so that VNFFGDs and NSDs given alongside can be checked against them
(a hop's capability is a CP of its forwarder; an NSD's imports exist); a VNFFGD none of whose
forwarders is known is checked on its own. A VNFD is known under
its template name and its file stem, plus any ``--vnfd NAME=FILE``; an NSD import ``X`` also
finds ``X.yaml`` next to the NSD.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from descriptors import DescriptorError, Vnfd, detect_kind, load_any, load_vnfd, read_params


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("descriptor", help="TOSCA descriptors (VNFD, VNFFGD, NSD)")
    sub = group.add_subparsers(dest="descriptor_command", metavar="COMMAND")
    validate = sub.add_parser("validate", help="validate descriptor files offline")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--param-file", metavar="F", help="values for get_input (YAML mapping)")
    validate.add_argument("--vnfd", action="append", default=[], metavar="NAME=FILE",
                          help="an onboarded VNFD that VNFFGD forwarders or NSD imports refer to")
    validate.set_defaults(func=run_validate)
    group.set_defaults(func=lambda args: (group.print_help(), 2)[1])


def _ok(kind: str, name: str, file: str, summary: str) -> str:
    return f"OK    {kind:<6} {name}  ({file}): {summary}"


def _fail(kind: str, file: str, error: DescriptorError) -> str:
    lines = [f"FAIL  {kind:<6} {file}"]
    for issue in error.issues:
        where = f"line {issue.line}: " if issue.line is not None else ""
        what = ".".join(p for p in (issue.node, issue.field) if p)
        lines.append(f"      {where}{what + ': ' if what else ''}{issue.message}")
    return "\n".join(lines)


def run_validate(args: argparse.Namespace) -> int:
    failed = False
    try:
        params = read_params(args.param_file) if args.param_file else None
    except DescriptorError as exc:
        print(_fail("PARAMS", args.param_file, exc))
        return 1
    registry: dict[str, Vnfd] = {}
    for spec in args.vnfd:
        name, sep, file = spec.partition("=")
        if not sep or not name or not file:
            print(f"FAIL  --vnfd {spec!r}: expected NAME=FILE")
            failed = True
            continue
        try:
            registry[name] = load_vnfd(file, params, name=name)
        except DescriptorError as exc:
            print(_fail("VNFD", file, exc))
            failed = True
    kinds: dict[str, str] = {}
    for file in args.files:
        try:
            kinds[file] = detect_kind(file)
        except DescriptorError as exc:
            print(_fail("?", file, exc))
            failed = True
    order = sorted(kinds, key=lambda f: ("VNFD", "VNFFGD", "NSD").index(kinds[f]))
    for file in order:
        kind = kinds[file]
        try:
            if kind == "VNFD":
                model = load_any(file, params)
                registry.setdefault(model.name, model)  # type: ignore[arg-type]
                registry.setdefault(Path(file).stem, model)  # type: ignore[arg-type]
            elif kind == "NSD":
                vnfds = dict(registry)
                for imp in _imports(file):
                    sibling = Path(file).with_name(imp + ".yaml")
                    if imp not in vnfds and sibling.is_file():
                        vnfds[imp] = load_vnfd(sibling, name=imp)
                model = load_any(file, params, vnfds=vnfds)
            else:
                model = load_any(file, params)
                forwarders = {h.forwarder for p in model.paths for h in p.hops}  # type: ignore[union-attr]
                if forwarders & registry.keys():  # VNFDs given: check hops against their CPs
                    model = load_any(file, params, vnfds=registry)
        except DescriptorError as exc:
            print(_fail(kind, file, exc))
            failed = True
            continue
        pending = sorted(model.unresolved_inputs)
        note = f" (inputs pending: {', '.join(pending)})" if pending else ""
        print(_ok(kind, model.name, file, model.summary() + note))
    return 1 if failed else 0


def _imports(file: str) -> list[str]:
    from descriptors.nsd import vnfd_imports
    from descriptors.source import read_source

    data = read_source(file).data
    return vnfd_imports(data) if isinstance(data, dict) else []
