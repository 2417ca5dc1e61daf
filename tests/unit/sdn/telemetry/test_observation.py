"""Observation ids: the 32-bit layout of OVS sample() actions' domain and point ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdn.telemetry.observation import (ALL_PACKETS, MARKER, ObservationPoint, Role, collector_set_ids, decode, encode,
                                       sample_params, switch_tag)


def test_layout_is_marker_role_rate_switch_and_spi_si():
    point = ObservationPoint(spi=0x123456, si=253, role=Role.HOP_IN, switch=0xBEEF, rate_log2=3)
    domain, point_id = encode(point)
    assert domain == 0x4E23BEEF and domain >> 24 == MARKER
    assert point_id == 0x123456FD
    assert decode(domain, point_id) == point
    assert point.probability == ALL_PACKETS >> 3 and not point.exact
    assert point.scale == pytest.approx(8.0, rel=1e-3)


@given(st.integers(0, (1 << 24) - 1), st.integers(0, 255), st.sampled_from(list(Role)), st.integers(0, 0xFFFF),
       st.integers(0, 15))
def test_encode_decode_round_trip(spi, si, role, switch, rate):
    point = ObservationPoint(spi, si, role, switch, rate)
    assert decode(*encode(point)) == point
    assert all(0 <= v <= 0xFFFFFFFF for v in encode(point))


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF))
def test_decode_never_raises_and_refuses_foreign_domains(domain, point_id):
    got = decode(domain, point_id)
    if domain >> 24 != MARKER or (domain >> 20 & 0xF) not in {r.value for r in Role}:
        assert got is None
    else:
        assert got is not None and encode(got) == (domain, point_id)


def test_foreign_and_out_of_range_ids_are_not_ours():
    assert decode(7, 9) is None                       # an OVS bridge-wide IPFIX row's ids
    assert decode(0x4E000000, 1) is None              # role 0 does not exist
    assert decode(1 << 32, 1) is None and decode(0x4E100000, -1) is None


def test_sample_params_for_each_role():
    exact = sample_params(42, 255, Role.CLASSIFY, collector_set_base=5, switch=switch_tag(0x1_0000_0007))
    assert exact.probability == 65535 and exact.collector_set_id == 5        # classify: the base set
    assert exact.obs_domain_id == 0x4E100007 and exact.obs_point_id == 42 << 8 | 255
    assert exact.ofctl() == (f"sample(probability=65535,collector_set_id=5,obs_domain_id={0x4E100007},"
                             f"obs_point_id={42 << 8 | 255})")
    assert decode(exact.obs_domain_id, exact.obs_point_id) == ObservationPoint(42, 255, Role.CLASSIFY, 7)
    sampled = sample_params(42, 254, Role.HOP_OUT, collector_set_base=5, rate_log2=4)
    assert sampled.probability == 4095 and sampled.collector_set_id == 7    # hop-out: base + 2
    assert decode(sampled.obs_domain_id, sampled.obs_point_id).role is Role.HOP_OUT
    assert [r.label for r in Role] == ["classify", "hop-in", "hop-out", "end"]


@pytest.mark.parametrize("kwargs, word", [
    (dict(spi=1 << 24, si=1, role=Role.END, collector_set_base=1), "spi"),
    (dict(spi=1, si=256, role=Role.END, collector_set_base=1), "si"),
    (dict(spi=1, si=1, role=Role.END, collector_set_base=1, switch=1 << 16), "switch"),
    (dict(spi=1, si=1, role=Role.END, collector_set_base=1, rate_log2=16), "rate_log2"),
    (dict(spi=1, si=1, role=Role.END, collector_set_base=1 << 32), "collector set base"),
])
def test_out_of_range_values_are_refused_by_name(kwargs, word):
    with pytest.raises(ValueError, match=word):
        sample_params(**kwargs)


def test_one_collector_set_per_role():
    assert collector_set_ids(10) == {Role.CLASSIFY: 10, Role.HOP_IN: 11, Role.HOP_OUT: 12, Role.END: 13}
