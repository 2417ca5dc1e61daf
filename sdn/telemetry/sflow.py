"""sFlow version 5 datagrams (sflow.org/sflow_version_5.txt), decoded without raising.

What the chains need: flow samples (compact format 1 and expanded format 3) with their raw
packet header records parsed by :mod:`sdn.telemetry.frames` (OVS sends NSH raw in them: OVS's
IPFIX has no NSH fields), the sampling rate, sample pool, drops and ports; counter samples
(format 2 and 4) with generic interface counters. Other record formats are kept opaque. A sample
whose lengths lie is dropped (``bad_sample``) and its neighbours kept; a datagram whose
header lies is dropped whole.

What is built per sample (the sample, its ports, raw headers, their frames) is a NamedTuple,
not a frozen dataclass: that one's ``__init__`` sets each field through ``object.__setattr__``,
which was a third of the decode time.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple, TypeVar

from sdn.telemetry.drops import Decoded, Drop
from sdn.telemetry.frames import Frame, parse_frame

VERSION = 5
FLOW_SAMPLE, COUNTER_SAMPLE, FLOW_SAMPLE_EXPANDED, COUNTER_SAMPLE_EXPANDED = 1, 2, 3, 4
RAW_HEADER = 1                    # flow record: raw packet header
GENERIC_INTERFACE = 1             # counter record: generic interface counters
HEADER_ETHERNET = 1               # header_protocol ETHERNET-ISO88023
IF_INDEX, IF_DISCARDED, IF_MULTIPLE = 0, 1, 2     # input/output interface formats

_U32 = struct.Struct("!I")
_HEAD = struct.Struct("!II")                      # version, address type
_AGENT_TAIL = struct.Struct("!IIII")              # sub-agent, sequence, uptime, samples
_REC = struct.Struct("!II")                       # data format, length
_FLOW = struct.Struct("!IIIIIIII")                # seq, source, rate, pool, drops, in, out, n
_FLOW_X = struct.Struct("!IIIIIIIIIII")           # seq, src type, src index, rate, pool, drops, in fmt/val, out fmt/val, n
_COUNTER = struct.Struct("!III")                  # seq, source, n
_COUNTER_X = struct.Struct("!IIII")               # seq, src type, src index, n
_RAW = struct.Struct("!IIII")                     # protocol, frame length, stripped, header length
_GENERIC = struct.Struct("!IIQIIQIIIIIIQIIIIII")
_ADDR_LEN = {1: 4, 2: 16}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Agent:
    """The datagram header every sample of it shares."""

    address: str
    sub_agent: int
    sequence: int
    uptime_ms: int


class Interface(NamedTuple):
    """An input/output port: ``format`` 0 = ifIndex ``value``, 1 = discarded (value = reason),
    2 = multiple ports (value = how many)."""

    format: int
    value: int


class RawHeader(NamedTuple):
    protocol: int
    frame_length: int
    stripped: int
    header: bytes
    frame: Frame | None           # parsed when ``protocol`` is Ethernet


@dataclass(frozen=True, slots=True)
class OpaqueRecord:
    enterprise: int
    format: int
    data: bytes


class FlowSample(NamedTuple):
    agent: Agent
    sequence: int
    source_type: int
    source_index: int
    sampling_rate: int
    sample_pool: int
    drops: int
    input: Interface
    output: Interface
    records: tuple[RawHeader | OpaqueRecord, ...]
    expanded: bool = False

    @property
    def headers(self) -> tuple[RawHeader, ...]:
        return tuple(r for r in self.records if isinstance(r, RawHeader))


# NamedTuple's __new__ is a Python function; these are tuple's own (a frame less per sample / record)
_interface: Callable[[tuple[int, int]], Interface] = partial(tuple.__new__, Interface)
_raw_header: Callable[[tuple[int, int, int, bytes, Frame | None]], RawHeader] = partial(tuple.__new__, RawHeader)
_flow_sample: Callable[[tuple[object, ...]], FlowSample] = partial(tuple.__new__, FlowSample)


@dataclass(frozen=True, slots=True)
class InterfaceCounters:
    """Generic interface counters (counter record format 1)."""

    if_index: int
    if_type: int
    if_speed: int
    if_direction: int
    if_status: int
    in_octets: int
    in_ucast_pkts: int
    in_multicast_pkts: int
    in_broadcast_pkts: int
    in_discards: int
    in_errors: int
    in_unknown_protos: int
    out_octets: int
    out_ucast_pkts: int
    out_multicast_pkts: int
    out_broadcast_pkts: int
    out_discards: int
    out_errors: int
    promiscuous_mode: int


@dataclass(frozen=True, slots=True)
class CounterSample:
    agent: Agent
    sequence: int
    source_type: int
    source_index: int
    records: tuple[InterfaceCounters | OpaqueRecord, ...]
    expanded: bool = False


Sample = FlowSample | CounterSample


def decode(data: bytes) -> Decoded[Sample]:
    """One sFlow v5 datagram -> its samples and what was dropped; never raises."""
    n = len(data)
    if n < _HEAD.size:
        return Decoded(drops=(Drop.TRUNCATED,))
    version, addr_type = _HEAD.unpack_from(data, 0)
    if version != VERSION:
        return Decoded(drops=(Drop.BAD_VERSION,))
    alen = _ADDR_LEN.get(addr_type)
    if alen is None:
        return Decoded(drops=(Drop.BAD_ADDRESS_TYPE,))
    off = _HEAD.size + alen
    if off + _AGENT_TAIL.size > n:
        return Decoded(drops=(Drop.TRUNCATED,))
    raw_addr = data[_HEAD.size:off]
    address = str(ipaddress.IPv4Address(raw_addr) if alen == 4 else ipaddress.IPv6Address(raw_addr))
    sub_agent, sequence, uptime, count = _AGENT_TAIL.unpack_from(data, off)
    agent = Agent(address, sub_agent, sequence, uptime)
    off += _AGENT_TAIL.size
    samples: list[Sample] = []
    drops: list[Drop] = []
    for _ in range(count):
        if off + 8 > n:
            drops.append(Drop.TRUNCATED)      # fewer samples than the header says
            break
        fmt, length = _REC.unpack_from(data, off)
        start, end = off + 8, off + 8 + length
        if end > n:
            drops.append(Drop.TRUNCATED)
            break
        off = end
        if fmt >> 12:                          # another enterprise's sample: not ours to read
            continue
        sample = _sample(fmt & 0xFFF, data[start:end], agent)
        if isinstance(sample, Drop):
            drops.append(sample)
        elif sample is not None:
            samples.append(sample)
    return Decoded(tuple(samples), tuple(drops))


def _sample(fmt: int, body: bytes, agent: Agent) -> Sample | Drop | None:
    n = len(body)
    if fmt == FLOW_SAMPLE:
        if n < _FLOW.size:
            return Drop.BAD_SAMPLE
        seq, source, rate, pool, dropped, inp, out, count = _FLOW.unpack_from(body, 0)
        records: tuple[RawHeader | OpaqueRecord, ...] | None = _records(body, _FLOW.size, count, _flow_record)
        if records is None:
            return Drop.BAD_SAMPLE
        return _flow_sample((agent, seq, source >> 24, source & 0xFFFFFF, rate, pool, dropped,
                             _interface((inp >> 30, inp & 0x3FFFFFFF)), _interface((out >> 30, out & 0x3FFFFFFF)),
                             records, False))
    if fmt == FLOW_SAMPLE_EXPANDED:
        if n < _FLOW_X.size:
            return Drop.BAD_SAMPLE
        seq, stype, sindex, rate, pool, dropped, ifmt, ival, ofmt, oval, count = _FLOW_X.unpack_from(body, 0)
        records = _records(body, _FLOW_X.size, count, _flow_record)
        if records is None:
            return Drop.BAD_SAMPLE
        return FlowSample(agent, seq, stype, sindex, rate, pool, dropped, Interface(ifmt, ival),
                          Interface(ofmt, oval), records, expanded=True)
    if fmt == COUNTER_SAMPLE:
        if n < _COUNTER.size:
            return Drop.BAD_SAMPLE
        seq, source, count = _COUNTER.unpack_from(body, 0)
        counters: tuple[InterfaceCounters | OpaqueRecord, ...] | None = _records(
            body, _COUNTER.size, count, _counter_record)
        if counters is None:
            return Drop.BAD_SAMPLE
        return CounterSample(agent, seq, source >> 24, source & 0xFFFFFF, counters)
    if fmt == COUNTER_SAMPLE_EXPANDED:
        if n < _COUNTER_X.size:
            return Drop.BAD_SAMPLE
        seq, stype, sindex, count = _COUNTER_X.unpack_from(body, 0)
        counters = _records(body, _COUNTER_X.size, count, _counter_record)
        if counters is None:
            return Drop.BAD_SAMPLE
        return CounterSample(agent, seq, stype, sindex, counters, expanded=True)
    return None                                # unknown standard format: skipped, not an error


def _records(body: bytes, off: int, count: int, one: Callable[[int, int, bytes], T | None]) -> tuple[T, ...] | None:
    """The ``count`` records of a sample, or None if their lengths lie."""
    n = len(body)
    if count > (n - off) // 8:                 # each record takes at least 8 bytes
        return None
    out: list[T] = []
    for _ in range(count):
        if off + 8 > n:                        # earlier records used the room the count promised
            return None
        fmt, length = _REC.unpack_from(body, off)
        start, end = off + 8, off + 8 + length
        if end > n:
            return None
        record = one(fmt >> 12, fmt & 0xFFF, body[start:end])
        if record is None:
            return None
        out.append(record)
        off = end
    return tuple(out)


def _flow_record(enterprise: int, fmt: int, data: bytes) -> RawHeader | OpaqueRecord | None:
    if enterprise or fmt != RAW_HEADER:
        return OpaqueRecord(enterprise, fmt, data)
    if len(data) < _RAW.size:
        return None
    protocol, frame_length, stripped, hlen = _RAW.unpack_from(data, 0)
    if _RAW.size + hlen > len(data):
        return None
    header = data[_RAW.size:_RAW.size + hlen]
    return _raw_header((protocol, frame_length, stripped, header,
                        parse_frame(header) if protocol == HEADER_ETHERNET else None))


def _counter_record(enterprise: int, fmt: int, data: bytes) -> InterfaceCounters | OpaqueRecord | None:
    if enterprise or fmt != GENERIC_INTERFACE:
        return OpaqueRecord(enterprise, fmt, data)
    if len(data) < _GENERIC.size:
        return None
    return InterfaceCounters(*_GENERIC.unpack_from(data, 0))
