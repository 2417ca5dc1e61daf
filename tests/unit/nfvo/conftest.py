"""A whole NFVO in-process: real VnfManager on the fake VIM, the real SDN controller logic on an
in-memory switch (served over its own gRPC API, so the NFVO uses the production client)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from nfvo.api.server import serve as serve_nfvo
from nfvo.sdnclient import GrpcSdn
from nfvo.service import NfvoService
from nfvo.sqlstore import SqlStore
from sdn.api.server import serve
from sdn.driver import SwitchInfo
from sdn.controller import SfcController
from tests.unit.sdn.fake_driver import FakeDriver
from vnfm.manager import VnfManager
from vnfm.sqlstore import VnfSqlStore
from vnfm.vim.fake import FakeVim
from tests.corpus import TACKER_SAMPLES
from tests.unit.vnfm.conftest import Clock

SAMPLES = Path(__file__).resolve().parents[3] / "descriptors" / "samples"
TACKER = TACKER_SAMPLES / "vnffgd"
DPID = 0xD3
BRIDGE = "br-int"


class VimSwitch(FakeDriver):
    """One switch whose ports are whatever the fake VIM has plugged in right now."""

    def __init__(self, vim: FakeVim):
        super().__init__()
        self.vim = vim

    def switches(self):
        ports = {name: no for s in self.vim.servers.values() for name, no in s.server.ofports.items()}
        return {DPID: SwitchInfo(DPID, ports)} if DPID in self.infos else {}


@dataclass
class Stack:
    nfvo: NfvoService
    vnfm: VnfManager
    vim: FakeVim
    driver: VimSwitch
    controller: SfcController
    sdn_address: str
    store_url: str


def make_stack(tmp_path: Path, store_url: str | None = None, driver: VimSwitch | None = None,
               vim: FakeVim | None = None, controller: SfcController | None = None, sdn_address: str = ""):
    vim = vim or FakeVim(prefix="nf", bridge=BRIDGE)
    vnfm = VnfManager(vim, VnfSqlStore(f"sqlite:///{tmp_path / 'vnfm.db'}", "nf"), prefix="nf", now=Clock(), monitor=False)
    store_url = store_url or f"sqlite:///{tmp_path / 'nfvo.db'}"
    nfvo = NfvoService(SqlStore(store_url), vnfm, GrpcSdn(sdn_address), now=Clock(), spawn=lambda fn: fn())
    return Stack(nfvo, vnfm, vim, driver, controller, sdn_address, store_url)


@pytest.fixture
def sdn_server():
    vim = FakeVim(prefix="nf", bridge=BRIDGE)
    driver = VimSwitch(vim)
    driver.connect(DPID, {})
    controller = SfcController(driver)
    server, port = serve(controller, "127.0.0.1:0")
    yield vim, driver, controller, f"127.0.0.1:{port}"
    server.stop(None)
    controller.stop()


@pytest.fixture
def stack(tmp_path, sdn_server):
    vim, driver, controller, address = sdn_server
    s = make_stack(tmp_path, vim=vim, driver=driver, controller=controller, sdn_address=address)
    yield s
    s.vnfm.close()


@pytest.fixture
def cli(stack, monkeypatch):
    """The NFVO's API served on a free port, the ``nfv`` CLI pointed at it."""
    server, port = serve_nfvo(stack.nfvo, "127.0.0.1:0")
    monkeypatch.setenv("NFV_NFVO_ADDRESS", f"127.0.0.1:{port}")
    from nfvo.api.server import connect

    yield connect(f"127.0.0.1:{port}"), stack
    server.stop(None)


def onboard_demo(nfvo: NfvoService) -> None:
    """VNFDs for hosts and SFs, client/server hosts, the default VIM pointing at them."""
    for name, file in (("host", "host.yaml"), ("fw", "nsh-firewall.yaml"), ("counter", "nsh-counter.yaml")):
        nfvo.catalog.create_descriptor("VNFD", name, (SAMPLES / file).read_text())
    nfvo.catalog.register_vim("local", bridge=BRIDGE, dpid=DPID, ingress_port="client", egress_port="server")
    nfvo.create_vnf("client", "host")
    nfvo.create_vnf("server", "host")


def sample(file: str) -> str:
    return (SAMPLES / file).read_text()


def typed_vnfd(file: str, node_type: str) -> str:
    """A sample VNFD that offers an abstract node type (what ``--abstract-types`` selects by)."""
    return sample(file).replace("topology_template:\n", f"node_types:\n  {node_type}:\n    derived_from: "
                                f"tosca.nodes.Root\n\ntopology_template:\n  substitution_mappings:\n"
                                f"    node_type: {node_type}\n", 1)
