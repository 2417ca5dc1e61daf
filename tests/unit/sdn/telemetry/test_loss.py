"""A hop's loss as the figures read it: exporters that flush at their own drifting phases, two
feeds of one point, sampling's margin (pure: observations in, figures out)."""

from __future__ import annotations

import math
import random

import pytest

from sdn.telemetry.catalogue import catalogue_of
from sdn.telemetry.figures import Figures, Observation, Snapshot, Source
from sdn.telemetry.observation import Role
from tests.unit.sdn.telemetry.chain_doc import WEB, document

CAT = catalogue_of(document())
RATE = 100.0                   # packets per second through fw (hop 255: into = hop-in 255, out = hop-in 254)


def exported(drop_every: int = 0, seconds: float = 60.0) -> Figures:
    """Steady traffic through fw, counted by two exporters the way OVS's flow-based IPFIX does:
    each flushes a record of the packets since its last flush about once a second, out's a
    jittering 20-200 ms after into's (as measured on a stack), around bucket edges -- so their
    records of the same packets often land on either side of one. ``drop_every``: fw drops every
    n-th packet."""
    rng = random.Random(7)
    figures = Figures()
    times = [j / RATE for j in range(int(seconds * RATE))]
    kept = [t + 0.001 for j, t in enumerate(times) if not drop_every or j % drop_every]
    flushes_in = [n + 0.95 + rng.uniform(-0.05, 0.05) for n in range(int(seconds))]
    flushes_out = [f + rng.uniform(0.02, 0.2) for f in flushes_in]
    for si, flushes, seen in ((255, flushes_in, times), (254, flushes_out, kept)):
        previous = -1.0
        for flush in flushes:
            packets = sum(1 for t in seen if previous < t <= flush)
            if packets:
                figures.add(Observation(WEB, si, Role.HOP_IN, Source.PROBE, packets, packets * 100), flush)
            previous = flush
    return figures


def fw_loss(snap: Snapshot):
    path = snap.path(WEB)
    assert path is not None
    return path.hops[0]


@pytest.mark.parametrize("window", [2.0, 3.0, 10.0])
def test_a_lossless_hop_reads_zero_whatever_the_exporters_phases(window):
    figures = exported()
    ratios, raw = [], []
    for step in range(int(15 / 0.25), int(55 / 0.25)):
        hop = fw_loss(figures.snapshot(CAT, step * 0.25, window))
        assert hop.loss is not None and hop.loss.exact
        ratios.append(hop.loss.ratio)
        raw.append(abs(hop.into.packets - hop.out.packets) / hop.into.packets)
    assert max(raw) > 0.05                   # the bare counts of a window disagree by a record now and then ...
    assert max(ratios) < 0.02, ratios        # ... the loss does not


def test_a_steady_loss_is_counted_whole():
    figures = exported(drop_every=3)         # a third lost
    for step in range(15 * 4, 55 * 4):
        hop = fw_loss(figures.snapshot(CAT, step * 0.25, 2.0))
        assert hop.loss is not None and hop.loss.ratio == pytest.approx(1 / 3, abs=0.03)


def test_the_loss_compares_one_source_on_both_sides():
    figures = Figures()
    figures.add(Observation(WEB, 255, Role.HOP_IN, Source.PROBE, 1000, 100_000), 1.5)
    figures.add(Observation(WEB, 254, Role.HOP_IN, Source.PROBE, 1000, 100_000), 1.5)
    figures.add(Observation(WEB, 253, Role.END, Source.PROBE, 1000, 100_000), 1.5)
    for _ in range(13):                      # sFlow saw fw's way back: 13 samples at 1 in 64 (832, not 1000)
        figures.add(Observation(WEB, 255, Role.HOP_OUT, Source.SAMPLES, 64, 6400, samples=1), 1.5)
    fw, ids = fw_loss(figures.snapshot(CAT, 3.0, 10.0)), figures.snapshot(CAT, 3.0, 10.0).path(WEB).hops[1]
    assert fw.out is not None and fw.out.source is Source.PROBE     # the exact count wins over the estimate
    assert (fw.loss.packets, fw.loss.exact, fw.loss.margin) == (0, True, 0.0)
    assert (ids.loss.packets, ids.loss.exact) == (0, True)


def test_an_estimated_loss_carries_its_margin():
    figures = Figures()
    for si, samples in ((255, 400), (254, 360)):      # sample() at 1 in 16 into fw and into ids
        figures.add(Observation(WEB, si, Role.HOP_IN, Source.SAMPLED, samples * 16, samples * 1600, samples=samples),
                    1.5)
    loss = fw_loss(figures.snapshot(CAT, 3.0, 10.0)).loss
    assert loss is not None and not loss.exact and loss.ratio == pytest.approx(0.1)
    assert loss.margin == pytest.approx(1.96 * 0.9 * math.sqrt(1 / 400 + 1 / 360))     # ~0.09: 10% +- 9%
