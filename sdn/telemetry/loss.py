"""A hop's loss and how sure it is (pure): the figure :mod:`.figures` gives per hop and window."""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_MARGIN = 1.0


@dataclass(frozen=True, slots=True)
class Loss:
    """Into a hop vs out of it, both counted by one source where a source saw both points (two
    feeds of one point differ by their sampling, not by loss), out taken over the time into was
    counted in; ``exact``: both counts are; ``margin``: the ratio's ~95% half-width from the
    samples behind estimated counts (binomial), 0 when both are exact."""

    packets: int                   # into - out (negative: out counted more, e.g. export skew)
    ratio: float                   # max(packets, 0) / into
    exact: bool
    margin: float = 0.0


def margin(into: int, out: int, into_samples: int | None, out_samples: int | None) -> float:
    """~95% half-width of the loss ratio of ``into`` vs ``out`` packets; ``*_samples``: the
    packets actually sampled behind an estimated count, None for an exact one. Each estimate of
    k samples is off by ~1/sqrt(k) (relative, binomial); independent sampling at the two points
    adds the variances. MAX_MARGIN when unbounded (an estimate of no samples)."""
    variance = 0.0
    for samples in (into_samples, out_samples):
        if samples is not None:
            if samples <= 0:
                return MAX_MARGIN
            variance += 1 / samples
    return min(MAX_MARGIN, 1.96 * (max(out, 0) / into) * math.sqrt(variance))
