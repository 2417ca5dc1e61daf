"""Plan the slot tables of a new document from the one the controller holds (pure).

The controller calls ``rebalance(new, held)`` before it derives flows, so every service function
with several instances carries a slot table (``SfInstance.slots``, see ``sdn.balance``) that
moves only the connections the change must move. The held document is the history: it is in
the controller's state file, so a restarted controller keeps its tables too.

An instance is known by its switch and its set of ports, whichever SF names it: the twin SF of a
symmetric chain's reverse path (ports swapped) and every SF over the same instances get one
table, so both directions of a connection meet the same instance. The previous table of an SF
is the held one of the same name, else the held one sharing most instances with it (an abstract
hop over several VNFs is renamed when one comes or goes), else the slots the new document itself
brings (a controller started without a state file can be handed them), else none (a fresh table).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Hashable

from sdn.balance import Table, check_table, plan
from sdn.document import ServiceFunction, SfcDocument, SfInstance

Pool = tuple[Hashable, ...]


def instance_key(inst: SfInstance) -> Hashable:
    return inst.switch, frozenset(inst.ports)


def rebalance(new: SfcDocument, held: SfcDocument | None = None) -> SfcDocument:
    """``new`` with a planned slot table on every SF of several instances (others get none)."""
    held_fns = {f.name: f for f in held.service_functions} if held else {}
    tables = [t for f in (held.service_functions if held else ()) if (t := _table(f)) is not None]
    planned: dict[tuple, Table] = {}
    order = sorted(range(len(new.service_functions)), key=lambda i: new.service_functions[i].name not in held_fns)
    out = list(new.service_functions)
    for i in order:  # SFs with a history first: a new twin then follows its original's table
        fn = new.service_functions[i]
        if len(fn.instances) == 1:
            out[i] = _with_slots(fn, [()]) if fn.instances[0].slots else fn
            continue
        weights = tuple((instance_key(inst), inst.weight) for inst in fn.instances)
        table = planned.get(weights)
        if table is None:
            keys = {k for k, _ in weights}
            same = _table(held_fns[fn.name]) if fn.name in held_fns else None
            previous = same if same is not None and keys & set(same.slots) else _closest(tables, keys) or _table(fn)
            table = planned[weights] = plan(weights, previous)
        out[i] = _with_slots(fn, [table.slots[k] for k, _ in weights])
    return replace(new, service_functions=tuple(out))


def _closest(tables: list[Table], keys: set[Hashable]) -> Table | None:
    """The held table sharing most instances with ``keys`` (an abstract hop that gained or lost a
    VNF is renamed, its instances are not); None if none shares any."""
    best = max(tables, key=lambda t: len(keys & set(t.slots)), default=None)
    return best if best is not None and keys & set(best.slots) else None


def _table(fn: ServiceFunction) -> Table | None:
    """The table ``fn`` holds by instance key; a single instance holds the whole of any table."""
    if len(fn.instances) == 1:
        return Table(1, {instance_key(fn.instances[0]): (0,)})
    slots = [inst.slots for inst in fn.instances]
    if not any(slots) or check_table(slots):
        return None
    return Table(sum(len(s) for s in slots), {instance_key(inst): tuple(inst.slots) for inst in fn.instances})


def _with_slots(fn: ServiceFunction, slots: list[tuple[int, ...]]) -> ServiceFunction:
    return replace(fn, instances=tuple(replace(inst, slots=tuple(s)) for inst, s in zip(fn.instances, slots, strict=True)))
