from __future__ import annotations

from pathlib import Path

from tests.corpus import TACKER_SAMPLES

import pytest

from descriptors import load_vnfd
from vnfm.manager import VnfManager
from vnfm.sqlstore import VnfSqlStore
from vnfm.vim.fake import FakeVim

SAMPLES = Path(__file__).resolve().parents[3] / "descriptors" / "samples"
TACKER = TACKER_SAMPLES / "vnfd"

SCALE_VNFD = """
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
metadata: {template_name: scaler}
topology_template:
  node_templates:
    VDU1:
      type: tosca.nodes.nfv.VDU.Tacker
      properties: {image: host, flavor: m1.tiny}
    CP1:
      type: tosca.nodes.nfv.CP.Tacker
      properties: {order: 0}
      requirements: [{virtualLink: {node: VL1}}, {virtualBinding: {node: VDU1}}]
    VL1:
      type: tosca.nodes.nfv.VL
      properties: {network_name: net_scale, vendor: nfvchain}
  policies:
    - SP1:
        type: tosca.policies.tacker.Scaling
        properties: {targets: [VDU1], increment: 1, min_instances: 1, max_instances: 3,
                     default_instances: 1}
"""


class Clock:
    """A clock that moves one second per reading (shared by the vnfm and nfvo unit tests)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        self.t += 1
        return self.t


@pytest.fixture
def vim() -> FakeVim:
    return FakeVim(prefix="fk")


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vnfm.db'}"


@pytest.fixture
def mgr(vim: FakeVim, store_url: str):
    m = VnfManager(vim, VnfSqlStore(store_url, "fk"), prefix="fk", now=Clock(), monitor=False)
    yield m
    m.close()


@pytest.fixture
def firewall():
    return load_vnfd(SAMPLES / "nsh-firewall.yaml")


@pytest.fixture
def scaler():
    return load_vnfd(SCALE_VNFD)
