"""Templates and data records shared by IPFIX and NetFlow v9, kept per (exporter, domain).

A :class:`TemplateCache` is the only state the decoders have; the caller owns it and passes it
in (no module globals). Each (exporter address, observation domain / source id) gets its own
:class:`Domain`, and a datagram only ever reaches the domain its own header names, so one
exporter's garbage can never touch another's templates. Data sets that arrive before their
template are held (bounded in count and age) and decoded when it arrives, else dropped and
counted. New domains beyond the limit are refused rather than evicting working ones.

Decoding a data set only finds its records (:func:`locate`, against the layout compiled when
the template arrived); a record unpacks a field when asked (:meth:`DataRecord.get`), all of them
for ``values`` and ``fields()``. The set loop of both protocols is :func:`decode_sets`.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from socket import inet_ntoa
from typing import Any, NamedTuple, cast

from sdn.telemetry.drops import Decoded, Drop
from sdn.telemetry.elements import Convert, Element, element, struct_code, value_converter

VARIABLE = 0xFFFF                  # field length meaning "variable" (RFC 7011 §7)
MIN_DATA_SET = 256                 # IPFIX set ids / NetFlow v9 flowset ids from here on are data
MAX_SHAPES = 32                    # variable-length record shapes kept per template
RUN = 64                           # records of one shape confirmed at a time (bounds the work per record)
_LONG = 256                        # shape key of a 3-octet length prefix: 256 + length


@dataclass(frozen=True, slots=True)
class FieldSpec:
    element_id: int
    length: int                    # octets, or VARIABLE
    enterprise: int = 0            # private enterprise number; 0 = IANA
    element: Element = field(default=Element("", "octetArray"), compare=False)

    @staticmethod
    def of(element_id: int, length: int, enterprise: int = 0) -> FieldSpec:
        return FieldSpec(element_id, length, enterprise, element(element_id, enterprise))


class Shape:
    """One byte layout of a template's records, compiled once: a struct over the whole record
    (``values``) and each field's offset, struct and converter by name (:meth:`DataRecord.get`).

    A template without variable-length fields has one; with them, a record's length octets
    (RFC 7011 §7) pick its shape, and one exporter's records come in few (its interface names).
    """

    __slots__ = ("record", "size", "find", "marks", "checks")

    def __init__(self, layout: Layout, lengths: Sequence[int]) -> None:
        fmt: list[str] = []
        find: dict[str, tuple[Callable[..., tuple[Any, ...]], int, Convert | None]] = {}
        marks: list[tuple[int, bytes]] = []
        off, var = 0, iter(lengths)
        for code, name, conv in zip(layout.codes, layout.names, layout.convert, strict=True):
            if code is None:
                k = next(var)
                prefix, code = (3, f"{k - _LONG}s") if k >= _LONG else (1, f"{k}s")
                if prefix == 1:
                    marks.append((off, bytes((k,)) * RUN))
                fmt.append(f"{prefix}x")
                off += prefix
            one = layout.field_struct(code)
            fmt.append(code)
            if conv is inet_ntoa:        # an IPv4 address: its octets as ints, joined in get()
                find[name] = (layout.field_struct("4B").unpack_from, off, cast(Convert, dotted))
            else:
                find[name] = (one.unpack_from, off, conv)
            off += one.size
        self.record = struct.Struct("!" + "".join(fmt))       # length octets are skipped
        self.size: int = self.record.size
        self.find = find                                      # name -> unpack_from, offset, converter
        # (offset, value * RUN) of every length octet when all are 1-octet: records that follow
        # one of this shape and whose octets say the same have it too (a slice of the set each)
        self.marks: tuple[tuple[int, bytes], ...] = tuple(marks) if len(marks) == len(lengths) else ()
        self.checks: dict[int, tuple[Callable[..., tuple[int, ...]], tuple[int, ...]]] = {}

    def check(self, count: int) -> tuple[Callable[..., tuple[int, ...]], tuple[int, ...]]:
        """One struct that unpacks the length octets of ``count`` records of this shape (all its
        :attr:`marks`) and what they say if all have it: a run is confirmed in one C call."""
        found = self.checks.get(count)
        if found is None:
            fmt, expect, pos = [], [], 0
            for r in range(count):
                for at, same in self.marks:
                    fmt.append(f"{r * self.size + at - pos}xB")
                    expect.append(same[0])
                    pos = r * self.size + at + 1
            found = self.checks[count] = (struct.Struct("!" + "".join(fmt)).unpack_from, tuple(expect))
        return found


_OCTET = tuple(str(i) for i in range(256))
_DOT = tuple(f"{i}." for i in range(256))


def dotted(octets: tuple[int, int, int, int]) -> str:
    """An IPv4 address from its octets as ints; :meth:`DataRecord.get` does it inline. Four
    table look-ups: half of what inet_ntoa costs (its argument parsing and sprintf)."""
    a, b, c, d = octets
    return _DOT[a] + _DOT[b] + _DOT[c] + _OCTET[d]


class Layout:
    """How a template's records are found and unpacked, compiled when the template arrives:
    its shapes (one if no field is variable), kept up to :data:`MAX_SHAPES` per template (past
    that, for a hostile exporter, compiled per record and not kept)."""

    __slots__ = ("codes", "names", "convert", "gaps", "tail", "fixed", "shapes", "last", "_structs")

    def __init__(self, codes: Sequence[str | None], names: Sequence[str], convert: Sequence[Convert | None]) -> None:
        self.codes, self.names, self.convert = tuple(codes), tuple(names), tuple(convert)
        gaps, size = [], 0
        for code in codes:
            if code is None:
                gaps.append(size)
                size = 0
            else:
                size += struct.calcsize("!" + code)
        self.gaps: tuple[int, ...] = tuple(gaps)     # fixed octets before each variable field
        self.tail = size                             # and after the last
        self.shapes: dict[tuple[int, ...], Shape] = {}
        self._structs: dict[str, struct.Struct] = {}   # one field's, shared by the shapes
        self.fixed = None if gaps else Shape(self, ())
        self.last: Shape | None = None               # the shape the last run had: tried first

    def field_struct(self, code: str) -> struct.Struct:
        found = self._structs.get(code)
        if found is None:
            found = self._structs[code] = struct.Struct("!" + code)
        return found

    def shape(self, lengths: tuple[int, ...]) -> Shape:
        """The shape of records whose variable fields have these lengths (256 + n: 3-octet prefix)."""
        found = self.shapes.get(lengths)
        if found is None:
            found = Shape(self, lengths)
            if len(self.shapes) < MAX_SHAPES:
                self.shapes[lengths] = found
        return found


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


class Origin(NamedTuple):
    """What every record of one data set shares (one per set, not per record)."""

    exporter: str
    domain_id: int
    export_time: int               # seconds (IPFIX export time / NetFlow v9 unix secs)
    template: Template


# NamedTuple's __new__ is a Python function; this is tuple's own (one Origin per data set)
_origin: Callable[[tuple[str, int, int, Template]], Origin] = partial(tuple.__new__, Origin)


class DataRecord(tuple[Any, ...]):
    """One data record, unpacked on demand: :meth:`get` unpacks one field (what the figures
    read), ``values`` all of them raw (numbers as ints, the rest bytes), :meth:`fields` all of
    them by element name as addresses, strings and numbers. Equal when those are.

    A bare tuple (data set, offset, shape, origin) with no ``__new__`` of its own, so a set's
    records are built by ``map(DataRecord, zip(...))`` in C: no Python frame per record."""

    __slots__ = ()

    @property
    def exporter(self) -> str:
        return self[3].exporter

    @property
    def domain_id(self) -> int:
        return self[3].domain_id

    @property
    def export_time(self) -> int:
        return self[3].export_time

    @property
    def template(self) -> Template:
        return self[3].template

    @property
    def values(self) -> tuple[object, ...]:
        data, offset, shape, _ = self
        return shape.record.unpack_from(data, offset)

    def fields(self) -> dict[str, object]:
        vals = list(self.values)
        template = self[3].template
        for i, conv in template.converters:
            vals[i] = conv(vals[i])
        return dict(zip(template.names, vals, strict=True))

    def get(self, name: str, default: object = None) -> object:
        data, offset, shape, _ = self
        try:
            unpack, at, conv = shape.find[name]
        except KeyError:
            return default
        if conv is None:
            return unpack(data, offset + at)[0]
        if conv is dotted:
            a, b, c, d = unpack(data, offset + at)
            return _DOT[a] + _DOT[b] + _DOT[c] + _OCTET[d]
        return conv(unpack(data, offset + at)[0])

    def _key(self) -> tuple[object, ...]:
        return (*self[3], self.values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataRecord) and self._key() == other._key()

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"DataRecord({self[3]!r}, {self.fields()!r})"


def locate(template: Template, body: bytes) -> tuple[Sequence[int], Iterable[Shape], Drop | None]:
    """Where each record of a data set starts and its shape (the compiled path: no value is
    unpacked); trailing bytes shorter than a record are padding, a variable-length field running
    past the set is ``bad_record`` (the records before it are kept).

    Records of one shape come in runs, found by comparing their length octets a slice of the set
    at a time (:func:`_run`), first for the shape the template's last set ended with; a record
    whose shape that is not is walked octet by octet, and once a walked record's run is just that
    record, so is the rest of the set."""
    layout = template.layout
    n = len(body)
    fixed = layout.fixed
    if fixed is not None:
        count = n // fixed.size
        return range(0, count * fixed.size, fixed.size), repeat(fixed, count), None
    min_length, last = template.min_length, layout.last
    if last is not None and last.marks:                  # the usual: the set is one run of it
        size = last.size
        count = n // size
        if 0 < count <= RUN and n - count * size < min_length:
            unpack, expect = last.checks.get(count) or last.check(count)
            if unpack(body, 0) == expect:
                return range(0, count * size, size), repeat(last, count), None
    offsets: list[int] = []
    shapes: list[Shape] = []
    off, runs = 0, True
    gaps, tail = layout.gaps, layout.tail
    known = layout.shapes.get
    while n - off >= min_length:
        if runs and last is not None and (run := _run(body, off, last, n)):
            end = off + run * last.size
            offsets.extend(range(off, end, last.size))
            shapes.extend([last] * run)
            off = end
            continue
        p = off
        key = []
        for gap in gaps:
            p += gap
            if p >= n:
                return offsets, shapes, Drop.BAD_RECORD
            size = body[p]
            if size == 255:
                if p + 3 > n:
                    return offsets, shapes, Drop.BAD_RECORD
                size = body[p + 1] << 8 | body[p + 2]
                key.append(_LONG + size)
                p += 3 + size
            else:
                key.append(size)
                p += 1 + size
        p += tail
        if p > n:
            return offsets, shapes, Drop.BAD_RECORD
        k = tuple(key)
        shape = known(k) or layout.shape(k)
        if runs:
            run = _run(body, off, shape, n)
            if run > 1:
                last = layout.last = shape
                end = off + run * shape.size
                offsets.extend(range(off, end, shape.size))
                shapes.extend([shape] * run)
                off = end
                continue
            runs = False
        offsets.append(off)
        shapes.append(shape)
        off = p
    return offsets, shapes, None


def _run(body: bytes, off: int, shape: Shape, n: int) -> int:
    """How many records from ``off`` (up to :data:`RUN`) have ``shape``: a record whose length
    octets say what the shape's do, where the shape has them, is one (it starts where expected:
    the one before had the shape), so one slice of the set per variable field tells."""
    size = shape.size
    count = (n - off) // size
    if count > RUN:
        count = RUN
    if not shape.marks or not count:
        return 0
    unpack, expect = shape.checks.get(count) or shape.check(count)
    if unpack(body, off) == expect:                # the usual: all of them
        return count
    end = off + count * size
    for at, same in shape.marks:
        octets = body[off + at:end:size]
        if not same.startswith(octets):            # not all of them: the run ends at the first other
            count = len(octets) - len(octets.lstrip(same[:1]))
            if not count:
                return 0
            end = off + count * size
    return count


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
        origin = _origin((self.exporter, self.domain_id, export_time, template))
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
        origin = _origin((self.exporter, self.domain_id, export_time, template))
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
