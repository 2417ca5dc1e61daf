"""Templates and data records shared by IPFIX and NetFlow v9, kept per (exporter, domain).

A :class:`TemplateCache` is the only state the decoders have; the caller owns it and passes it
in (no module globals). Each (exporter address, observation domain / source id) gets its own
:class:`Domain`, and a datagram only ever reaches the domain its own header names, so one
exporter's garbage can never touch another's templates. Data sets that arrive before their
template are held (bounded in count and age) and decoded when it arrives, else dropped and
counted. New domains beyond the limit are refused rather than evicting working ones.

Decoding a data set only finds its records (:func:`~sdn.telemetry.layout.locate`, against the
layout compiled when the template arrived); a record unpacks a field when asked
(:meth:`~sdn.telemetry.layout.DataRecord.get`). The set loop of both protocols is :func:`decode_sets`.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import repeat
from typing import NamedTuple

from sdn.telemetry.drops import Decoded, Drop
from sdn.telemetry.elements import Convert, Element, element, struct_code, value_converter
from sdn.telemetry.layout import MAX_SHAPES as MAX_SHAPES
from sdn.telemetry.layout import RUN as RUN
from sdn.telemetry.layout import DataRecord as DataRecord
from sdn.telemetry.layout import Layout, make_origin, locate
from sdn.telemetry.layout import Origin as Origin

VARIABLE = 0xFFFF                  # field length meaning "variable" (RFC 7011 §7)
MIN_DATA_SET = 256                 # IPFIX set ids / NetFlow v9 flowset ids from here on are data


@dataclass(frozen=True, slots=True)
class FieldSpec:
    element_id: int
    length: int                    # octets, or VARIABLE
    enterprise: int = 0            # private enterprise number; 0 = IANA
    element: Element = field(default=Element("", "octetArray"), compare=False)

    @staticmethod
    def of(element_id: int, length: int, enterprise: int = 0) -> FieldSpec:
        return FieldSpec(element_id, length, enterprise, element(element_id, enterprise))


@dataclass(frozen=True)
class Template:
    """A (options) template with its record layout (:class:`Layout`) compiled once."""

    template_id: int
    fields: tuple[FieldSpec, ...]
    scope_count: int = 0           # > 0 for an options template: the first fields are its scope
    names: tuple[str, ...] = field(init=False, compare=False)
    min_length: int = field(init=False, compare=False)
    layout: Layout = field(init=False, compare=False, repr=False)
    converters: tuple[tuple[int, Convert], ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        codes = [None if f.length == VARIABLE else struct_code(f.element, f.length) for f in self.fields]
        convert = [value_converter(f.element, f.length) for f in self.fields]
        names = _unique_names(self.fields)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "min_length", sum(1 if f.length == VARIABLE else f.length for f in self.fields))
        object.__setattr__(self, "layout", Layout(codes, names, convert))
        object.__setattr__(self, "converters", tuple((i, c) for i, c in enumerate(convert) if c is not None))

    @property
    def options(self) -> bool:
        return self.scope_count > 0


def _unique_names(fields: tuple[FieldSpec, ...]) -> tuple[str, ...]:
    """Element names, a repeated element (RFC 7011 §8; OVS sends interfaceName for the ingress
    and then the egress port) numbered from its second occurrence: ``interfaceName[1]``."""
    seen: dict[str, int] = {}
    names = []
    for f in fields:
        n = seen.get(f.element.name, 0)
        seen[f.element.name] = n + 1
        names.append(f"{f.element.name}[{n}]" if n else f.element.name)
    return tuple(names)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile or broken exporter from growing the collector without end."""

    max_domains: int = 4096
    max_templates: int = 1024          # per domain
    max_held: int = 64                 # held data sets per domain
    held_age: float = 10.0             # seconds a data set waits for its template
    template_lifetime: float | None = 1800.0   # RFC 7011 §8.4 (UDP); None: templates never age


class _Held(NamedTuple):
    template_id: int
    body: bytes
    export_time: int
    received: float


class Domain:
    """Templates and held data of one (exporter, domain); reached only through the cache."""

    __slots__ = ("exporter", "domain_id", "_limits", "_templates", "_held")

    def __init__(self, exporter: str, domain_id: int, limits: Limits) -> None:
        self.exporter, self.domain_id, self._limits = exporter, domain_id, limits
        self._templates: dict[int, tuple[Template, float]] = {}
        self._held: deque[_Held] = deque()

    @property
    def templates(self) -> dict[int, Template]:
        return {tid: t for tid, (t, _) in self._templates.items()}

    @property
    def idle(self) -> bool:
        return not self._templates and not self._held

    def learn(self, template: Template, now: float) -> tuple[list[DataRecord], list[Drop]]:
        """Add or refresh a template; held data sets for it are decoded now."""
        drops = self.sweep(now)
        tid = template.template_id
        if tid not in self._templates and len(self._templates) >= self._limits.max_templates:
            return [], [*drops, Drop.TEMPLATE_LIMIT]
        self._templates[tid] = (template, now)
        records: list[DataRecord] = []
        if any(h.template_id == tid for h in self._held):
            keep: deque[_Held] = deque()
            for held in self._held:
                if held.template_id != tid:
                    keep.append(held)
                    continue
                got, drop = self._records(template, held.body, held.export_time)
                records.extend(got)
                if drop:
                    drops.append(drop)
            self._held = keep
        return records, drops

    def withdraw(self, template_id: int) -> None:
        self._templates.pop(template_id, None)

    def withdraw_all(self, options: bool) -> None:
        for tid in [tid for tid, (t, _) in self._templates.items() if t.options == options]:
            del self._templates[tid]

    def data(self, template_id: int, body: bytes, export_time: int,
             now: float) -> tuple[Sequence[DataRecord], list[Drop]]:
        """Decode a data set, or hold it until its template arrives."""
        drops = self.sweep(now) if self._held else []
        entry = self._templates.get(template_id)
        lifetime = self._limits.template_lifetime
        if entry is not None and lifetime is not None and now - entry[1] > lifetime:
            del self._templates[template_id]
            entry = None
        if entry is None:
            self._held.append(_Held(template_id, body, export_time, now))
            if len(self._held) > self._limits.max_held:
                self._held.popleft()
                drops.append(Drop.PENDING_OVERFLOW)
            return (), drops
        template = entry[0]
        offsets, shapes, drop = locate(template, body)
        if drop:
            drops.append(drop)
        origin = make_origin((self.exporter, self.domain_id, export_time, template))
        return tuple(map(DataRecord, zip(repeat(body), offsets, shapes, repeat(origin)))), drops

    def sweep(self, now: float) -> list[Drop]:
        """Drop held data sets older than the limit (and templates past their lifetime)."""
        drops: list[Drop] = []
        age = self._limits.held_age
        while self._held and now - self._held[0].received > age:
            self._held.popleft()
            drops.append(Drop.UNKNOWN_TEMPLATE_EXPIRED)
        lifetime = self._limits.template_lifetime
        if lifetime is not None:
            for tid in [tid for tid, (_, seen) in self._templates.items() if now - seen > lifetime]:
                del self._templates[tid]
        return drops

    def _records(self, template: Template, body: bytes, export_time: int) -> tuple[list[DataRecord], Drop | None]:
        offsets, shapes, drop = locate(template, body)
        origin = make_origin((self.exporter, self.domain_id, export_time, template))
        return list(map(DataRecord, zip(repeat(body), offsets, shapes, repeat(origin)))), drop


class TemplateCache:
    """All template state of one collector (one per protocol listener), passed to the decoders."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._domains: dict[tuple[str, int], Domain] = {}

    def domain(self, exporter: str, domain_id: int) -> Domain | None:
        """The domain of (exporter, domain id), created on first use; None when full."""
        key = (exporter, domain_id)
        found = self._domains.get(key)
        if found is None:
            if len(self._domains) >= self.limits.max_domains:
                return None
            found = self._domains[key] = Domain(exporter, domain_id, self.limits)
        return found

    def templates(self, exporter: str, domain_id: int) -> dict[int, Template]:
        found = self._domains.get((exporter, domain_id))
        return found.templates if found else {}

    def expire(self, now: float) -> list[tuple[str, Drop]]:
        """Age out held data and templates everywhere (call it now and then, e.g. every second,
        so a silent exporter's held data is still counted); forget domains left empty.
        Returns (exporter, drop) per held data set dropped."""
        drops: list[tuple[str, Drop]] = []
        for key, dom in list(self._domains.items()):
            drops.extend((dom.exporter, d) for d in dom.sweep(now))
            if dom.idle:
                del self._domains[key]
        return drops


class Withdrawal(NamedTuple):
    """Withdraw one template (``template_id``) or, with ``template_id`` None, all data
    (``options`` False) or all options templates."""

    template_id: int | None
    options: bool = False


def apply(dom: Domain, changes: Sequence[Template | Withdrawal], now: float) -> tuple[list[DataRecord], list[Drop]]:
    """Apply a template set's parsed changes in order; returns records released from hold."""
    records: list[DataRecord] = []
    drops: list[Drop] = []
    for change in changes:
        if isinstance(change, Template):
            got, lost = dom.learn(change, now)
            records.extend(got)
            drops.extend(lost)
        elif change.template_id is None:
            dom.withdraw_all(change.options)
        else:
            dom.withdraw(change.template_id)
    return records, drops


_SET_HEADER = struct.Struct("!HH").unpack_from      # set id, length
_decoded: Callable[[tuple[tuple[DataRecord, ...], tuple[Drop, ...]]], Decoded[DataRecord]] = partial(tuple.__new__, Decoded)

TemplateParser = Callable[[bytes], Sequence[Template | Withdrawal] | None]


def remembered(parse: Callable[[bytes], Sequence[Template | Withdrawal] | None], size: int = 128) -> TemplateParser:
    """``parse`` remembered by the set's bytes: exporters resend the same template sets every
    few messages (RFC 7011 §8.4 refresh; OVS with nearly every one), and compiling a 50-field
    template was a quarter of the collector's CPU. Parsing is pure and templates are frozen, so a
    resent set gets the very templates of its first arrival (applied again: refresh, timestamps);
    a changed set is other bytes. Bounded: a hostile exporter's variety only evicts."""
    @lru_cache(maxsize=size)
    def cached(body: bytes) -> tuple[Template | Withdrawal, ...] | None:
        got = parse(body)
        return None if got is None else tuple(got)
    return cached


def decode_sets(dom: Domain, message: bytes, off: int, end: int, export_time: int, now: float,
                parsers: Mapping[int, TemplateParser], *, strict: bool) -> Decoded[DataRecord]:
    """The (flow)sets of one IPFIX message / NetFlow v9 packet in ``message[off:end]``: data
    sets decoded (or held) in ``dom``, template sets parsed by ``parsers[set id]`` (None: a
    malformed record, the whole set is ``bad_template``) and applied, other ids below
    :data:`MIN_DATA_SET` ``reserved_set_id``. A lying set length ends the walk there with
    ``bad_set_length``; fewer than 4 trailing bytes are padding unless ``strict``."""
    records: Sequence[DataRecord] = ()
    drops: list[Drop] = []
    data = message if type(message) is bytes else bytes(message)     # sets are sliced off as bytes
    while off < end:
        if end - off < 4:
            if strict:
                drops.append(Drop.BAD_SET_LENGTH)
            break
        set_id, length = _SET_HEADER(data, off)
        if length < 4 or off + length > end:
            drops.append(Drop.BAD_SET_LENGTH)
            break
        body = data[off + 4:off + length]
        off += length
        if set_id >= MIN_DATA_SET:
            got, lost = dom.data(set_id, body, export_time, now)
        else:
            parse = parsers.get(set_id)
            changes = parse(body) if parse is not None else None
            if changes is None:
                drops.append(Drop.BAD_TEMPLATE if parse is not None else Drop.RESERVED_SET_ID)
                continue
            got, lost = apply(dom, changes, now)
        if not records:
            records = got
        elif got:
            records = (*records, *got)
        if lost:
            drops.extend(lost)
    return _decoded((records if type(records) is tuple else tuple(records), tuple(drops)))
