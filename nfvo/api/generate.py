"""Regenerate the committed gRPC code: ``python -m nfvo.api.generate`` (a test checks freshness)."""

from __future__ import annotations

import sys
from pathlib import Path

from sdn.api.generate import generate as generate_protos

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ["nfvo/api/v1/nfvo.proto"]


def generate(out_dir: Path = ROOT) -> None:
    generate_protos(out_dir, PROTOS)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
