"""Hostile input (hypothesis): garbage, truncated and lying datagrams never raise, are counted,
and one exporter's garbage never changes another exporter's templates."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdn.telemetry import ipfix, netflow9, sflow
from sdn.telemetry.drops import Decoded
from sdn.telemetry.templates import TemplateCache
from tests.unit.sdn.telemetry import sflow_encode as enc
from tests.unit.sdn.telemetry.ipfix_encode import (flow_rows, message, options_template_set, template_set,
                                                   v9_options_template, v9_packet)
from tests.unit.sdn.telemetry.test_sflow import nsh_frame

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

T = template_set()
IPFIX_GOOD = message(T, flow_rows(T, 3), options_template_set())
V9_T = template_set(set_id=0)
V9_GOOD = v9_packet(V9_T, flow_rows(V9_T, 3), v9_options_template())
SFLOW_GOOD = enc.datagram([enc.flow_sample([enc.raw_header(nsh_frame())]),
                           enc.counter_sample([enc.generic_counters(3, 1, 2)]),
                           enc.flow_sample_expanded([enc.raw_header(nsh_frame(spi=9))])])


@st.composite
def mutated(draw, good: bytes) -> bytes:
    """A valid datagram cut, with bytes overwritten (lengths, counts, ids lie) or extended."""
    data = bytearray(good)
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    tail = draw(st.binary(max_size=16))
    return bytes(data[:cut]) + tail


def _well_formed(result: Decoded) -> None:
    assert isinstance(result, Decoded)
    assert isinstance(result.records, tuple) and isinstance(result.drops, tuple)


@FAST
@given(st.binary(max_size=600))
def test_garbage_never_raises(data):
    _well_formed(sflow.decode(data))
    _well_formed(ipfix.decode(data, "a", TemplateCache(), 0.0))
    _well_formed(netflow9.decode(data, "a", TemplateCache(), 0.0))


@FAST
@given(mutated(SFLOW_GOOD))
def test_mutated_sflow_never_raises(data):
    result = sflow.decode(data)
    _well_formed(result)
    for sample in result.records:
        for header in getattr(sample, "headers", ()):
            assert (header.frame is not None) == (header.protocol == sflow.HEADER_ETHERNET)


@FAST
@given(st.integers(0, len(SFLOW_GOOD) - 1))
def test_every_truncated_sflow_datagram_is_counted(cut):
    result = sflow.decode(SFLOW_GOOD[:cut])
    assert result.drops, f"cut at {cut} went unnoticed"


@FAST
@given(st.integers(0, len(IPFIX_GOOD) - 1))
def test_every_truncated_ipfix_message_is_counted(cut):
    result = ipfix.decode(IPFIX_GOOD[:cut], "a", TemplateCache(), 0.0)
    assert result.drops and result.records == ()


@FAST
@given(mutated(IPFIX_GOOD), mutated(V9_GOOD))
def test_mutated_ipfix_and_netflow9_never_raise(v10, v9):
    cache = TemplateCache()
    _well_formed(ipfix.decode(v10, "a", cache, 0.0))
    _well_formed(ipfix.decode(IPFIX_GOOD, "a", cache, 1.0))       # and the cache still works after it
    _well_formed(netflow9.decode(v9, "a", cache, 0.0))
    for rec in ipfix.decode(IPFIX_GOOD, "a", cache, 2.0).records:
        assert rec.pick(rec.template.names) == tuple(rec.fields().values())
    for rec in ipfix.decode(v10, "b", TemplateCache(), 0.0).records:      # whatever a mutated one decodes to
        assert rec.pick(rec.template.names) == tuple(rec.get(n) for n in rec.template.names)


@FAST
@given(st.lists(st.one_of(mutated(IPFIX_GOOD), st.binary(max_size=200),
                          st.builds(lambda d, b: struct.pack("!HHIII", 10, 16 + len(b), 0, 0, d) + b,
                                    st.sampled_from([0, 1]), st.binary(max_size=120))), max_size=8))
def test_one_exporters_garbage_never_changes_anothers_templates(garbage):
    cache = TemplateCache()
    ipfix.decode(message(T, options_template_set(), domain=1), "good", cache, 0.0)
    before = cache.templates("good", 1)
    expected = [r.values for r in ipfix.decode(message(flow_rows(T, 3), domain=1), "good", cache, 0.0).records]
    for i, data in enumerate(garbage):
        ipfix.decode(data, "evil", cache, float(i))
    assert cache.templates("good", 1) == before
    assert [r.values for r in ipfix.decode(message(flow_rows(T, 3), domain=1), "good", cache, 9.0).records] == expected
