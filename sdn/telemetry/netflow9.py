"""NetFlow version 9 packets (RFC 3954), on the template machinery IPFIX uses.

Templates and options templates are kept per (exporter, source id) in the same
:class:`TemplateCache` type; field types share IPFIX's element numbers (RFC 3954 §8 is where
IPFIX's first 127 come from), options scope fields get their own names. NetFlow v9 has no
withdrawal and no message length: flowsets run to the end of the datagram.
"""

from __future__ import annotations

import struct

from sdn.telemetry.drops import Decoded, Drop
from sdn.telemetry.elements import Element
from sdn.telemetry.templates import (MIN_DATA_SET, DataRecord, FieldSpec, Template, TemplateCache, TemplateParser,
                                     remembered,
                                     decode_sets)

VERSION = 9
TEMPLATE_FLOWSET, OPTIONS_TEMPLATE_FLOWSET = 0, 1
MIN_DATA_FLOWSET = MIN_DATA_SET
_HEADER = struct.Struct("!HHIIII")    # version, count, sysUptime, unix secs, sequence, source id
SCOPES = {1: Element("scopeSystem", "octetArray"), 2: Element("scopeInterface", "unsigned32"),
          3: Element("scopeLineCard", "unsigned32"), 4: Element("scopeCache", "octetArray"),
          5: Element("scopeTemplate", "unsigned16")}


def decode(data: bytes, exporter: str, cache: TemplateCache, now: float) -> Decoded[DataRecord]:
    """One NetFlow v9 packet from ``exporter`` -> its data records and drops; never raises."""
    n = len(data)
    if n < _HEADER.size:
        return Decoded(drops=(Drop.TRUNCATED,))
    version, _count, _uptime, unix_secs, _sequence, source_id = _HEADER.unpack_from(data, 0)
    if version != VERSION:
        return Decoded(drops=(Drop.BAD_VERSION,))
    dom = cache.domain(exporter, source_id)
    if dom is None:
        return Decoded(drops=(Drop.DOMAIN_LIMIT,))
    return decode_sets(dom, data, _HEADER.size, n, unix_secs, now, _PARSERS, strict=False)


def _specs(body: memoryview | bytes, off: int, count: int, scope: bool = False) -> list[FieldSpec]:
    out = []
    for i in range(off, off + 4 * count, 4):
        ftype, flen = body[i] << 8 | body[i + 1], body[i + 2] << 8 | body[i + 3]
        if scope:
            out.append(FieldSpec(ftype, flen, 0, SCOPES.get(ftype) or Element(f"scope{ftype}", "octetArray")))
        else:
            out.append(FieldSpec.of(ftype, flen))
    return out


def _valid(template: Template) -> bool:
    return template.min_length > 0 and all(f.length != 0xFFFF for f in template.fields)


def parse_template_flowset(body: memoryview | bytes) -> list[Template] | None:
    out: list[Template] = []
    off, n = 0, len(body)
    while n - off >= 4:
        tid, count = body[off] << 8 | body[off + 1], body[off + 2] << 8 | body[off + 3]
        off += 4
        if tid < MIN_DATA_FLOWSET or count == 0 or off + 4 * count > n:
            return None
        template = Template(tid, tuple(_specs(body, off, count)))
        off += 4 * count
        if not _valid(template):
            return None
        out.append(template)
    return out


def parse_options_flowset(body: memoryview | bytes) -> list[Template] | None:
    out: list[Template] = []
    off, n = 0, len(body)
    while n - off >= 6:
        tid = body[off] << 8 | body[off + 1]
        scope_len, option_len = body[off + 2] << 8 | body[off + 3], body[off + 4] << 8 | body[off + 5]
        off += 6
        if (tid < MIN_DATA_FLOWSET or scope_len == 0 or scope_len % 4 or option_len % 4
                or off + scope_len + option_len > n):
            return None
        fields = _specs(body, off, scope_len // 4, scope=True) + _specs(body, off + scope_len, option_len // 4)
        off += scope_len + option_len
        template = Template(tid, tuple(fields), scope_len // 4)
        if not _valid(template):
            return None
        out.append(template)
    return out


_PARSERS: dict[int, TemplateParser] = {TEMPLATE_FLOWSET: remembered(parse_template_flowset),
                                       OPTIONS_TEMPLATE_FLOWSET: remembered(parse_options_flowset)}
