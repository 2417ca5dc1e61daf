"""IPFIX messages (RFC 7011), decoded against the caller's :class:`TemplateCache`.

Template sets (2), options template sets (3) with withdrawal (field count 0; template id 2 or 3
withdraws them all) and refresh, data sets (>= 256) with variable-length (§7) and enterprise
fields (§3.2, the PEN bit). A template set with any malformed record changes nothing; a lying
set length ends the message there; nothing raises.
"""

from __future__ import annotations

import struct
from functools import partial

from sdn.telemetry.drops import Decoded, Drop
from sdn.telemetry.templates import (MIN_DATA_SET, DataRecord, FieldSpec, Template, TemplateCache, TemplateParser,
                                     remembered,
                                     Withdrawal, decode_sets)

VERSION = 10
TEMPLATE_SET, OPTIONS_TEMPLATE_SET = 2, 3
_HEADER = struct.Struct("!HHIII")     # version, length, export time, sequence, observation domain
_HEAD_LEN = _HEADER.size


def decode(data: bytes, exporter: str, cache: TemplateCache, now: float) -> Decoded[DataRecord]:
    """One IPFIX message from ``exporter`` -> its data records (including held ones its
    templates release) and what was dropped; never raises."""
    n = len(data)
    if n < _HEAD_LEN:
        return Decoded(drops=(Drop.TRUNCATED,))
    version, length, export_time, _sequence, domain_id = _HEADER.unpack_from(data, 0)
    if version != VERSION:
        return Decoded(drops=(Drop.BAD_VERSION,))
    if length > n:
        return Decoded(drops=(Drop.TRUNCATED,))
    if length < _HEAD_LEN or length < n:
        return Decoded(drops=(Drop.BAD_LENGTH,))
    dom = cache.domain(exporter, domain_id)
    if dom is None:
        return Decoded(drops=(Drop.DOMAIN_LIMIT,))
    return decode_sets(dom, data, _HEAD_LEN, length, export_time, now, _PARSERS, strict=True)


def parse_template_set(body: memoryview | bytes, options: bool) -> list[Template | Withdrawal] | None:
    """The templates and withdrawals of one (options) template set, or None if any is malformed."""
    out: list[Template | Withdrawal] = []
    set_id = OPTIONS_TEMPLATE_SET if options else TEMPLATE_SET
    off, n = 0, len(body)
    while n - off >= 4:
        tid, count = body[off] << 8 | body[off + 1], body[off + 2] << 8 | body[off + 3]
        off += 4
        if count == 0:
            if tid == set_id:
                out.append(Withdrawal(None, options))
            elif tid >= MIN_DATA_SET:
                out.append(Withdrawal(tid, options))
            else:
                return None
            continue
        if tid < MIN_DATA_SET:
            return None
        scope = 0
        if options:
            if off + 2 > n:
                return None
            scope = body[off] << 8 | body[off + 1]
            off += 2
            if scope == 0 or scope > count:
                return None
        fields: list[FieldSpec] = []
        for _ in range(count):
            if off + 4 > n:
                return None
            eid, flen = body[off] << 8 | body[off + 1], body[off + 2] << 8 | body[off + 3]
            off += 4
            pen = 0
            if eid & 0x8000:
                if off + 4 > n:
                    return None
                pen = int.from_bytes(body[off:off + 4], "big")
                off += 4
                eid &= 0x7FFF
            fields.append(FieldSpec.of(eid, flen, pen))
        template = Template(tid, tuple(fields), scope)
        if template.min_length == 0:
            return None
        out.append(template)
    return out


_PARSERS: dict[int, TemplateParser] = {TEMPLATE_SET: remembered(partial(parse_template_set, options=False)),
                                       OPTIONS_TEMPLATE_SET: remembered(partial(parse_template_set, options=True))}
