"""Plan the slot tables of a new document from the one the controller holds (pure).

The controller calls ``rebalance(new, held)`` before it derives flows, so every service function
with several instances carries a slot table (``SfInstance.slots``, see ``sdn.balance``) that
moves only the connections the change must move. The held document is the history: it is in
the controller's state file, so a restarted controller keeps its tables too.

An instance is known by its switch and its set of ports, whichever SF names it: the twin SF of a
symmetric chain's reverse path (ports swapped) and every SF over the same instances get one
table, so both directions of a connection meet the same instance. The previous table of an SF
is the held one of the same name, else a held SF over the same instances, else the slots the
new document itself brings (a controller started without a state file can be handed them),
else none (a fresh table).
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
    by_pool: dict[frozenset, Table] = {}
    for fn in held.service_functions if held else ():
        table = _table(fn)
        if table is not None:
            by_pool.setdefault(frozenset(table.slots), table)
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
            keys = frozenset(k for k, _ in weights)
            previous = (_table(held_fns[fn.name]) if fn.name in held_fns else None) \
                or by_pool.get(keys) or _table(fn)
            table = planned[weights] = plan(weights, previous)
        out[i] = _with_slots(fn, [table.slots[k] for k, _ in weights])
    return replace(new, service_functions=tuple(out))


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
