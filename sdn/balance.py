"""Which SF instance serves which connection: slot tables planned with minimal moves (pure).

The classifier writes a symmetric L4 hash of the packet into NSH C4 (``HASH_BITS`` bits, before
encapsulation while the 5-tuple is visible); a hop with several instances owns a table of
``size`` slots (a power of two) and sends slot ``C4 & (size - 1)`` to the instance holding it.
The flows match ``nsh_c4`` with value/mask, so a hop costs at most ``size`` flows however many
paths cross it, and an aligned block of slots held by one instance costs one flow.

Why a table planned from the previous one rather than ``C4 % n`` or a stateless hash: modulo
moves most connections when n changes, and rendezvous hashing per slot is stateless but uneven
(binomial: with 32 slots and 3 instances one often gets 15). Here every instance gets its
weighted share of slots within one slot, and a change moves only slots it must: an instance
that stays keeps every slot it held except those it gives up because its share shrank (to a new
instance), and the slots of a leaving or draining (weight 0) instance go to those that stay.
Growing the table is free: slot s of a table of size S becomes slots s, s+S, ... of the larger
one, all held by the same instance. The table never shrinks while it is in use (that would merge
slots held by different instances).

Instances are named by a key (the controller uses the switch and its set of ports, so the
twin SF of a symmetric chain's reverse path, whose instances swap ports, plans alike and both
directions of a connection meet the same instance). The planner depends only on the keys, their
order, their weights and the previous table, never on anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Mapping, Sequence

HASH_BITS = 16  # of C4 the classifier fills (multipath into reg0[0..15]); tables address part of it
MIN_SLOTS = 16
SLOTS_PER_INSTANCE = 8  # at least this many slots per instance with weight: shares within 1/8 of one
MAX_SLOTS = 4096  # flows per hop at worst; a table this big already spreads 512 instances


@dataclass(frozen=True)
class Table:
    """A hop's slot table: ``slots[key]`` the slots that instance holds (sorted); together they
    partition ``range(size)``. Instances with weight 0 hold none."""

    size: int
    slots: Mapping[Hashable, tuple[int, ...]]

    def owner(self, slot: int) -> Hashable:
        return next(k for k, held in self.slots.items() if slot in held)


def table_size(weights: Sequence[int], previous: int = 0) -> int:
    """The power of two a table for these weights needs: ``SLOTS_PER_INSTANCE`` per instance
    with weight (more when weights differ, so the smallest gets its share), never below
    ``previous`` (a table in use does not shrink), at most ``MAX_SLOTS``."""
    active = [w for w in weights if w > 0]
    want = MIN_SLOTS
    if active:
        want = max(want, SLOTS_PER_INSTANCE * len(active), SLOTS_PER_INSTANCE * sum(active) // min(active))
    size = 1 << max(0, (min(want, MAX_SLOTS) - 1).bit_length())
    return max(size, min(previous, MAX_SLOTS) if _power_of_two(previous) else 0)


def quotas(weights: Sequence[tuple[Hashable, int]], size: int, held: Mapping[Hashable, int]) -> dict[Hashable, int]:
    """Slots per instance: ``size`` shared by weight (largest remainder); a tie for the last
    slots goes to whoever holds more already (fewer moves), then to the earlier key. With every
    weight 0 the instances share alike (a hop must still forward)."""
    if not any(w > 0 for _, w in weights):
        weights = [(k, 1) for k, _ in weights]
    total = sum(w for _, w in weights if w > 0)
    share = {k: size * w // total for k, w in weights if w > 0}
    rest = size - sum(share.values())
    order = sorted((k for k, w in weights if w > 0),
                   key=lambda k: (-(size * dict(weights)[k] % total), -held.get(k, 0), _index(weights, k)))
    for k in order[:rest]:
        share[k] += 1
    return {k: share.get(k, 0) for k, _ in weights}


def plan(weights: Sequence[tuple[Hashable, int]], previous: Table | None = None) -> Table:
    """The table for instances ``weights`` ((key, weight) in order; weight 0 = draining: no new
    connections), moving as few slots of ``previous`` as the new shares allow."""
    keys = [k for k, _ in weights]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate instance keys in {keys!r}")
    size = table_size([w for _, w in weights], previous.size if previous else 0)
    held = {k: _lift(previous, k, size) for k in keys} if previous else {k: [] for k in keys}
    taken: set[int] = set()
    for k in keys:  # a slot claimed twice (a malformed previous table) stays with the first
        held[k] = [s for s in held[k] if s not in taken]
        taken.update(held[k])
    want = quotas(weights, size, {k: len(v) for k, v in held.items()})
    free: list[int] = []
    for k in keys:
        if len(held[k]) > want[k]:
            free.extend(held[k][want[k]:])  # give up the highest: the low ones stay in blocks
            held[k] = held[k][:want[k]]
    free = sorted(set(range(size)) - taken | set(free))
    for k in keys:
        need = want[k] - len(held[k])
        if need > 0:
            held[k] = sorted(held[k] + free[:need])
            free = free[need:]
    return Table(size, {k: tuple(sorted(held[k])) for k in keys})


def fresh(weights: Sequence[tuple[Hashable, int]]) -> Table:
    """The table with nothing before it: each instance one contiguous run of slots (few flows)."""
    return plan(weights)


def blocks(slots: Sequence[int], size: int) -> list[tuple[int, int]]:
    """(value, mask) pairs matching exactly ``slots`` of a table of ``size``: aligned power-of-two
    blocks, merged greedily (a contiguous run of length 2**k aligned to it is one pair)."""
    mask_all = size - 1
    out: list[tuple[int, int]] = []
    todo = sorted(set(slots))
    i = 0
    while i < len(todo):
        start = todo[i]
        span = 1
        while (start % (span * 2) == 0 and span * 2 <= size and i + span * 2 <= len(todo)
               and todo[i + span * 2 - 1] == start + span * 2 - 1):
            span *= 2
        out.append((start, mask_all & ~(span - 1)))
        i += span
    return out


def _lift(previous: Table, key: Hashable, size: int) -> list[int]:
    """``key``'s slots of ``previous`` in a table of ``size`` (a multiple of it)."""
    slots = [s for s in previous.slots.get(key, ()) if 0 <= s < previous.size]
    if not _power_of_two(previous.size) or size % previous.size:
        return []
    return sorted(s + k * previous.size for s in slots for k in range(size // previous.size))


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _index(weights: Sequence[tuple[Hashable, int]], key: Hashable) -> int:
    return next(i for i, (k, _) in enumerate(weights) if k == key)


def check_table(slots: Sequence[Sequence[int]]) -> str:
    """Why per-instance ``slots`` are not a table (a partition of range(2**k), k <= 12); "" if they are."""
    size = sum(len(s) for s in slots)
    if not _power_of_two(size) or size > MAX_SLOTS:
        return f"{size} slots in all; a table has a power of two of them, at most {MAX_SLOTS}"
    seen = sorted(s for held in slots for s in held)
    if seen != list(range(size)):
        return f"they must share out 0..{size - 1}, each slot to one instance"
    return ""


def table_of(weights: Sequence[int], slots: Sequence[Sequence[int]]) -> Table:
    """A hop's table by instance index: the planned ``slots`` if they form one. If they are part
    of one (an instance left out while its port is missing, ``sdn.usable``), the others keep
    theirs and only the missing slots are shared out, so their connections stay; with no slots
    at all, a fresh plan."""
    keyed = list(enumerate(weights))
    if any(slots) and not check_table(slots):
        return Table(sum(len(s) for s in slots), {i: tuple(sorted(s)) for i, s in enumerate(slots)})
    top = max((s for held in slots for s in held), default=-1)
    if top < 0:
        return fresh(keyed)
    return plan(keyed, Table(1 << top.bit_length(), {i: tuple(s) for i, s in enumerate(slots)}))
