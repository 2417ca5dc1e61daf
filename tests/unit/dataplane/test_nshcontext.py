"""The multi-host NSH context layout: fields round-trip, refuse what does not fit, and keep the
single-host words sdn.render writes today."""

from __future__ import annotations

import pytest

from dataplane import nshcontext as ctx
from dataplane.nsh import Nsh, parse_nsh
from sdn.render import HASH_BITS


def test_words_round_trip_through_an_nsh_header() -> None:
    c = ctx.Context(ingress_host=3, ingress_port=0xFEFF, segment=0xABCDEF, service=0xDEADBEEF, flow_hash=9)
    assert c.words() == (0x0003FEFF, 0x00ABCDEF, 0xDEADBEEF, 9)
    nsh, _ = parse_nsh(Nsh.md1(0x40, 254, c.words()).to_bytes())
    assert ctx.Context.from_words(nsh.metadata.context) == c  # type: ignore[union-attr]


def test_host_zero_is_todays_single_switch_layout() -> None:
    """C1 = in_port and C4 = hash bucket, as sdn.render writes them (RegMove in_port -> nsh_c1)."""
    assert ctx.Context(ingress_port=7, flow_hash=5).words() == (7, 0, 0, 5)
    assert ctx.FLOW_HASH.nbits == HASH_BITS
    assert ctx.INGRESS_PORT.nbits == 16  # the path end moves C1[0..15] into NXM_OF_IN_PORT


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"ingress_host": ctx.MAX_HOST_ID + 1}, "ingress_host"),
    ({"ingress_port": 1 << 16}, "ingress_port"),
    ({"segment": 1 << 24}, "segment"),
    ({"flow_hash": 1 << 16}, "flow_hash"),
    ({"ingress_host": -1}, "ingress_host"),
])
def test_values_that_do_not_fit_are_refused_by_name(kwargs: dict[str, int], field: str) -> None:
    with pytest.raises(ctx.ContextError, match=field):
        ctx.Context(**kwargs)


@pytest.mark.parametrize(("words", "word"), [
    ((0x20000000, 0, 0, 0), "nsh_c1"),
    ((0, 0x01000000, 0, 0), "nsh_c2"),
    ((0, 0, 0, 0x10000), "nsh_c4"),
])
def test_reserved_bits_are_reported(words: tuple[int, int, int, int], word: str) -> None:
    with pytest.raises(ctx.ContextError, match=f"{word}.*reserved"):
        ctx.Context.from_words(words)


def test_fields_do_not_overlap_and_name_ovs_subfields() -> None:
    for word in ctx.WORDS:
        masks = [f.mask for f in ctx.FIELDS if f.word == word]
        assert sum(masks) == (sum(masks) & 0xFFFFFFFF)
        for i, a in enumerate(masks):
            assert all(a & b == 0 for b in masks[i + 1:])
    assert ctx.INGRESS_PORT.subfield == "nsh_c1[0..15]"
    assert ctx.INGRESS_HOST.subfield == "nsh_c1[16..27]"


def test_masked_match_selects_the_ingress_host() -> None:
    assert ctx.INGRESS_HOST.match(2) == ("nsh_c1", 0x20000, 0x0FFF0000)
    assert ctx.match_text(ctx.INGRESS_HOST, 2) == "nsh_c1=0x20000/0xfff0000"
    assert ctx.match_text(ctx.SEGMENT, 100) == "nsh_c2=0x64/0xffffff"


def test_a_destination_is_flagged_apart_from_an_ingress_port() -> None:
    """C1 naming a destination (host 2, number 7) differs from C1 naming ingress (host 2, port 7)."""
    word = ctx.destination_c1(2, 7)
    assert word == 0x10020007 != ctx.Context(ingress_host=2, ingress_port=7).words()[0]
    assert ctx.Context.from_words((word, 0, 0, 0)) == ctx.Context(ingress_host=2, ingress_port=7, to_destination=1)
    assert ctx.INGRESS_HOST.match(2)[2] & ctx.TO_DESTINATION.mask == 0  # the legs' host match takes both meanings
