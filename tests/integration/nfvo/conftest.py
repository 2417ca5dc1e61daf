"""A whole stack in this process: our controller (os-ken + gRPC), a bridge connected to it,
the local VIM + VNF manager on that bridge, and the NFVO served over gRPC for the CLI."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from nfvo.api.server import serve
from nfvo.sdnclient import GrpcSdn
from nfvo.service import NfvoService
from nfvo.sqlstore import SqlStore
from tests.integration.sdn.chain_lab import new_dpid, running_controller
from vnfm.manager import VnfManager
from vnfm.sqlstore import VnfSqlStore
from vnfm.vim.local import LocalVim


@dataclass
class NfvoStack:
    nfvo: NfvoService
    vnfm: VnfManager
    address: str
    bridge: str
    dpid: int
    state_dir: object


@pytest.fixture(scope="module")
def controller():
    with running_controller() as running:
        yield running


@pytest.fixture
def nfvo_stack(controller, lab, ovsdb, tmp_path, monkeypatch):
    yield from _stack(controller, lab, ovsdb, tmp_path, monkeypatch, monitor=False)


@pytest.fixture
def monitored_nfvo_stack(controller, lab, ovsdb, tmp_path, monkeypatch):
    """Like ``nfvo_stack``, with the VNFM's monitoring on (VNFDs' monitoring_policy: auto-heal)."""
    yield from _stack(controller, lab, ovsdb, tmp_path, monkeypatch, monitor=True)


def _stack(controller, lab, ovsdb, tmp_path, monkeypatch, *, monitor: bool):
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
    controller.wait_for_switch(dpid)
    prefix = "n" + secrets.token_hex(3)
    vim = LocalVim(ovsdb, bridge, prefix, tmp_path / "vim")
    vnfm = VnfManager(vim, VnfSqlStore(f"sqlite:///{tmp_path / 'vnfm.db'}", prefix), prefix=prefix, monitor=monitor)
    service = NfvoService(SqlStore(f"sqlite:///{tmp_path / 'nfvo.db'}"), vnfm, GrpcSdn(controller.grpc_address))
    server, port = serve(service, "127.0.0.1:0")
    address = f"127.0.0.1:{port}"
    monkeypatch.setenv("NFV_NFVO_ADDRESS", address)
    try:
        yield NfvoStack(service, vnfm, address, bridge, dpid, tmp_path / "vim")
    finally:
        server.stop(None)
        for record in service.vnffgs.list():
            service.vnffgs.delete(record.name)
        for vnf in vnfm.list():
            vnfm.terminate(vnf.id)
        vnfm.close()
        vim.close()
