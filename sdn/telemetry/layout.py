"""How a template's data records are laid out and read: compiled shapes, the records themselves.

A template's :class:`Layout` is compiled when it arrives; a data set is decoded by finding its
records (:func:`locate`: each one's offset and :class:`Shape`, no value unpacked), and a
:class:`DataRecord` unpacks a field when asked (:meth:`DataRecord.get`), several at once
(:meth:`DataRecord.pick`, through a picker compiled per shape and names: one unpack, one
Python frame), all of them for ``values`` and ``fields()``. Templates and their per-(exporter, domain) state are
:mod:`sdn.telemetry.templates`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from itertools import repeat
from socket import inet_ntoa
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sdn.telemetry.drops import Drop
from sdn.telemetry.elements import Convert

if TYPE_CHECKING:
    from sdn.telemetry.templates import Template

MAX_SHAPES = 32                    # variable-length record shapes kept per template
RUN = 64                           # records of one shape confirmed at a time (bounds the work per record)
_LONG = 256                        # shape key of a 3-octet length prefix: 256 + length


class Shape:
    """One byte layout of a template's records, compiled once: a struct over the whole record
    (``values``) and each field's offset, struct and converter by name (:meth:`DataRecord.get`).

    A template without variable-length fields has one; with them, a record's length octets
    (RFC 7011 §7) pick its shape, and one exporter's records come in few (its interface names).
    """

    __slots__ = ("record", "size", "find", "marks", "checks", "codes", "picks", "kept")

    def __init__(self, layout: Layout, lengths: Sequence[int]) -> None:
        fmt: list[str] = []
        find: dict[str, tuple[Callable[..., tuple[Any, ...]], int, Convert | None]] = {}
        marks: list[tuple[int, bytes]] = []
        codes: dict[str, str] = {}
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
                codes[name] = "4B"
                find[name] = (layout.field_struct("4B").unpack_from, off, cast(Convert, dotted))
            else:
                codes[name] = code
                find[name] = (one.unpack_from, off, conv)
            off += one.size
        self.record = struct.Struct("!" + "".join(fmt))       # length octets are skipped
        self.size: int = self.record.size
        self.find = find                                      # name -> unpack_from, offset, converter
        self.codes = codes                                    # name -> its struct code (the pickers')
        # (offset, value * RUN) of every length octet when all are 1-octet: records that follow
        # one of this shape and whose octets say the same have it too (a slice of the set each)
        self.marks: tuple[tuple[int, bytes], ...] = tuple(marks) if len(marks) == len(lengths) else ()
        self.checks: dict[int, tuple[Callable[..., tuple[int, ...]], tuple[int, ...]]] = {}
        self.picks: dict[tuple[str, ...], Picker] = {}         # names -> compiled picker
        self.kept = True                                      # False: compiled for one record only

    def picker(self, names: tuple[str, ...]) -> Picker:
        """The compiled :meth:`DataRecord.pick` of ``names`` on this shape, kept in :attr:`picks`
        (a shape compiled for one record only gets an uncompiled one: no exec per record)."""
        found = self.picks.get(names)
        if found is None:
            found = compile_picker(self, names) if self.kept else partial(_pick_slowly, self.find, names)
            if self.kept:
                self.picks[names] = found
        return found

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


Picker = Callable[[bytes, int], tuple[object, ...]]


def _pick_slowly(find: dict[str, tuple[Callable[..., tuple[Any, ...]], int, Convert | None]],
                 names: tuple[str, ...], data: bytes, offset: int) -> tuple[object, ...]:
    """What a compiled picker returns, one field at a time (as :meth:`DataRecord.get` reads it)."""
    out: list[object] = []
    for name in names:
        found = find.get(name)
        if found is None:
            out.append(None)
            continue
        unpack, at, conv = found
        out.append(unpack(data, offset + at)[0] if conv is None else
                   dotted(unpack(data, offset + at)) if conv is dotted else conv(unpack(data, offset + at)[0]))
    return tuple(out)


def compile_picker(shape: Shape, names: tuple[str, ...]) -> Picker:
    """One function that unpacks the fields ``names`` of a record of ``shape`` in one
    ``struct.unpack_from`` (the octets between them skipped) and converts only those that need
    it: what two or more :meth:`DataRecord.get` calls return, in one Python frame. A name the
    shape lacks is None. The generated source holds indices and constants only, never a name."""
    asked = set(names)
    wanted = [name for name in shape.find if name in asked]    # in record order (a 0-octet field shares its offset)
    fmt: list[str] = []
    var: dict[str, str] = {}                              # name -> the expression of its value
    env: dict[str, object] = {}                           # what the generated source refers to
    pos = 0
    out_vars: list[str] = []
    for name in wanted:
        _, at, conv = shape.find[name]
        code = shape.codes[name]
        if at > pos:
            fmt.append(f"{at - pos}x")
        fmt.append(code)
        pos = at + struct.calcsize("!" + code)
        if conv is dotted:
            parts = [f"v{len(out_vars) + k}" for k in range(4)]
            out_vars.extend(parts)
            var[name] = f"_D[{parts[0]}] + _D[{parts[1]}] + _D[{parts[2]}] + _O[{parts[3]}]"
        else:
            v = f"v{len(out_vars)}"
            out_vars.append(v)
            if conv is None:
                var[name] = v
            else:
                env[f"c{len(env)}"] = conv
                var[name] = f"c{len(env) - 1}({v})"
    if not wanted:
        empty = (None,) * len(names)
        return lambda data, offset: empty
    env.update(_u=struct.Struct("!" + "".join(fmt)).unpack_from, _D=_DOT, _O=_OCTET)
    result = ", ".join(var.get(name, "None") for name in names)
    source = (f"def pick(data, offset):\n    {', '.join(out_vars)}, = _u(data, offset)\n"
              f"    return ({result},)\n")
    exec(source, env)                                    # noqa: S102 - indices and constants only
    return cast(Picker, env["pick"])


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
            else:
                found.kept = False
        return found


class Origin(NamedTuple):
    """What every record of one data set shares (one per set, not per record)."""

    exporter: str
    domain_id: int
    export_time: int               # seconds (IPFIX export time / NetFlow v9 unix secs)
    template: Template


# NamedTuple's __new__ is a Python function; this is tuple's own (one Origin per data set)
make_origin: Callable[[tuple[str, int, int, Template]], Origin] = partial(tuple.__new__, Origin)


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
        try:                     # self[i], not unpacking self: a subclass's unpacking takes an iterator
            unpack, at, conv = self[2].find[name]
        except KeyError:
            return default
        if conv is None:
            return unpack(self[0], self[1] + at)[0]
        if conv is dotted:
            a, b, c, d = unpack(self[0], self[1] + at)
            return _DOT[a] + _DOT[b] + _DOT[c] + _OCTET[d]
        return conv(unpack(self[0], self[1] + at)[0])

    def pick(self, names: tuple[str, ...]) -> tuple[object, ...]:
        """The values of ``names`` (None for a field the record lacks), each what :meth:`get`
        returns, unpacked at once by a picker compiled per (shape, names) (:func:`compile_picker`):
        pass the same tuple each time (a module constant) and read several fields of a record so."""
        try:
            return self[2].picks[names](self[0], self[1])
        except KeyError:
            return self[2].picker(names)(self[0], self[1])

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


def pick_each(records: Iterable[DataRecord], names: tuple[str, ...]) -> list[tuple[object, ...]]:
    """:meth:`DataRecord.pick` of every record (a set's records share a shape or a few: its
    picker is looked up once per run of them, not per record)."""
    out: list[tuple[object, ...]] = []
    add = out.append
    last: Shape | None = None
    pick: Picker | None = None
    for r in records:                       # r[i], not unpacking r (see DataRecord.get)
        shape = r[2]
        if shape is not last:
            last, pick = shape, shape.picker(names)
        add(pick(r[0], r[1]))               # type: ignore[misc]  # set with last
    return out


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
