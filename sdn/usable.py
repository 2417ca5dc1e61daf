"""What of a document one switch can carry with the ports it has now (pure).

One broken thing breaks one thing: a port the document names but the switch lacks takes out only
what needs it. An SF instance whose port (or egress port) is missing is left out of its SF; an SF
left with no instance takes out every path through it (the path is *down*, with the port named);
a classifier whose ``in_port`` is missing is left out of its path. A path that lost an instance
or a classifier still carries traffic, but not as specified: *degraded*, with the reason. Every
other path renders exactly as before, so the rest of the switch keeps being updated, and the
left-out parts come back by themselves once the port appears (a port event re-derives).

A path that is down fails closed: its classifiers stay, dropping what they match (the traffic
that should pass its SFs never bypasses them), until its SFs are back (``closed_state``).

The reasons use the element names ``sdn.document`` errors use, e.g.
``service_functions[fw].instances[0].port: switch s1 has no port 'fw0'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

from sdn.cookie import Role, make_cookie
from sdn.document import Classifier, ServiceFunction, ServicePath, SfcDocument
from sdn.openflow import Flow, SwitchState
from sdn.pipeline import CLASSIFY, check_flow


@dataclass(frozen=True)
class Usable:
    """``document`` reduced to what the switch can carry; ``down``/``degraded``: path -> why."""

    document: SfcDocument
    down: Mapping[str, str] = field(default_factory=dict)
    degraded: Mapping[str, str] = field(default_factory=dict)


def usable_on(doc: SfcDocument, switch: str, ports: Mapping[str, int]) -> Usable:
    """``doc`` as switch ``switch`` with ``ports`` (name -> number) can carry it now.

    The very same document object comes back when nothing is missing (render caches then hit);
    the common case costs one look-up per SF instance port and per classifier port (~1 ms for
    10,000 paths); a switch with something missing walks its paths once more to tell which."""
    lost: dict[str, str] = {}  # SF -> why it has no instance left
    thinned: dict[str, str] = {}  # SF -> which instance ports are missing
    functions: list[ServiceFunction] = []
    on_switch: set[str] = set()  # SFs with an instance here (an SF may span switches: sdn.overlay)
    for fn in doc.service_functions:
        if not any(inst.switch == switch for inst in fn.instances):
            functions.append(fn)
            continue
        on_switch.add(fn.name)
        kept, missing = [], []
        for i, inst in enumerate(fn.instances):
            gone = [(key, port) for key, port in zip(("port", "egress_port"), inst.ports, strict=False)
                    if port not in ports] if inst.switch == switch else []
            if gone:
                key, port = gone[0]
                missing.append(f"service_functions[{fn.name}].instances[{i}].{key}: switch {switch} has no port {port!r}")
            else:
                kept.append(inst)
        if not kept:
            lost[fn.name] = "; ".join(missing)
        else:
            if missing:
                thinned[fn.name] = "; ".join(missing)
                fn = replace(fn, instances=tuple(kept))
            functions.append(fn)
    first = {f.name: f.instances[0].switch for f in doc.service_functions if f.instances}

    def here(path: ServicePath, c: Classifier) -> bool:  # check_document fills in a classifier's switch
        return (c.switch or first.get(path.hops[0] if path.hops else "", "")) == switch

    def absent(path: ServicePath) -> list[Classifier]:
        return [c for c in path.classifiers if c.in_port and c.in_port not in ports and here(path, c)]

    if not lost and not thinned and not any(absent(p) for p in doc.paths):
        return Usable(doc)  # the common case, in one quick pass
    down: dict[str, str] = {}
    degraded: dict[str, str] = {}
    paths = []
    changed = bool(lost or thinned)
    for path in doc.paths:
        if not any(h in on_switch for h in path.hops) and not any(here(path, c) for c in path.classifiers):
            paths.append(path)
            continue
        gone_hops = [h for h in path.hops if h in lost]
        if gone_hops:
            down[path.name] = "; ".join(dict.fromkeys(lost[h] for h in gone_hops))
            changed = True
            continue
        why = [thinned[h] for h in dict.fromkeys(path.hops) if h in thinned]
        missing_classifiers = absent(path)
        if missing_classifiers:
            why += [f"service_function_paths[{path.name}].classifiers[{c.name}].in_port: switch {switch} has no port "
                    f"{c.in_port!r}" for c in missing_classifiers]
            path = replace(path, classifiers=tuple(c for c in path.classifiers if c not in missing_classifiers))
            changed = True
        if why:
            degraded[path.name] = "; ".join(why)
        paths.append(path)
    if not changed:
        return Usable(doc)
    return Usable(replace(doc, service_functions=tuple(functions), paths=tuple(paths)), down, degraded)


def closed_state(path: ServicePath, ports: Mapping[str, int]) -> SwitchState:
    """A down path's flows: each classifier whose port is there drops what it matches."""
    cookie = make_cookie(Role.CLASSIFIER, path.spi)
    flows = set()
    for c in path.classifiers:
        if c.in_port and c.in_port not in ports:
            continue
        port = (("in_port", ports[c.in_port]),) if c.in_port else ()
        flows |= {check_flow(Flow(CLASSIFY, c.priority, tuple(sorted(m + port)), (), cookie=cookie)) for m in c.matches}
    return SwitchState(frozenset(flows))
