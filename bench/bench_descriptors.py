"""Median validate time per corpus VNFD, against a bare ``yaml.safe_load`` in the same run.

    .venv/bin/python bench/bench_descriptors.py [--rounds N]

Each VNFD is loaded once for warm-up (tosca-parser import, profile definitions, bundled Tacker
types), then timed ``rounds`` times; the figure is the median over all VNFDs of each file's
median. Goal from issue 3: under 100 ms per VNFD.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import descriptors  # noqa: E402
from tests.corpus import TACKER_SAMPLES  # noqa: E402

CORPUS = TACKER_SAMPLES


def _median_ms(func, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    files = sorted(p for p in CORPUS.glob("*/*.yaml") if "vnfd" in p.name and "param" not in p.name)
    for path in files:  # warm-up
        descriptors.load_vnfd(path)
    rows = []
    for path in files:
        text = path.read_text()
        load = _median_ms(lambda text=text, name=path.name: descriptors.load_vnfd(text, file=name), args.rounds)
        bare = _median_ms(lambda text=text: yaml.safe_load(text), args.rounds)
        rows.append((path.name, load, bare))
        print(f"{path.name:<48} validate {load:7.2f} ms   yaml.safe_load {bare:6.2f} ms   x{load / bare:5.1f}")
    load_med = statistics.median(r[1] for r in rows)
    bare_med = statistics.median(r[2] for r in rows)
    print(f"\n{len(rows)} VNFDs, median validate {load_med:.2f} ms vs yaml.safe_load {bare_med:.2f} ms "
          f"(x{load_med / bare_med:.1f}); goal < 100 ms: {'met' if load_med < 100 else 'MISSED'}")
    return 0 if load_med < 100 else 1


if __name__ == "__main__":
    sys.exit(main())
