"""Shared paths and VNFD registries for the descriptor tests."""

from __future__ import annotations

from pathlib import Path

from tests.corpus import TACKER_SAMPLES

import pytest

import descriptors as d

CORPUS = TACKER_SAMPLES
SAMPLES = Path(d.__file__).parent / "samples"


@pytest.fixture(scope="session")
def vnffg_vnfds() -> dict[str, d.Vnfd]:
    """The two 3-CP VNFDs Tacker's VNFFGD samples chain, onboarded as VNFD1 and VNFD2."""
    return {"VNFD1": d.load_vnfd(CORPUS / "vnffgd/tosca-vnffg-vnfd1.yaml", name="VNFD1"),
            "VNFD2": d.load_vnfd(CORPUS / "vnffgd/tosca-vnffg-vnfd2.yaml", name="VNFD2")}


@pytest.fixture(scope="session")
def demo_vnfds() -> dict[str, d.Vnfd]:
    out = {}
    for name in ("nsh-firewall", "nsh-counter", "nsh-unaware", "host"):
        out[name] = d.load_vnfd(SAMPLES / f"{name}.yaml")
    return out
