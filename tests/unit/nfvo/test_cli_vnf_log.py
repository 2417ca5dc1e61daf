"""``nfv vnf log``: a VDU's console (GetVnfLog) through the CLI against an in-process NFVO."""

from __future__ import annotations

from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.cli.main import main
from tests.unit.nfvo.conftest import BRIDGE, DPID, sample


def test_vnf_log_prints_the_console(cli, capsys):
    stub, _ = cli
    assert main(["vim", "register", "local", "--bridge", BRIDGE, "--dpid", hex(DPID)]) == 0
    stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name="host", template=sample("host.yaml")))
    vnf = stub.CreateVnf(pb.CreateVnfRequest(name="client", vnfd_name="host"))
    capsys.readouterr()
    assert main(["vnf", "log", "client"]) == 0
    assert capsys.readouterr().out == f"{vnf.vdus[0].namespace}: user_data (none)\n"
    reply = stub.GetVnfLog(pb.GetVnfLogRequest(name="client"))
    assert reply.vdu == vnf.vdus[0].name
    assert main(["vnf-log", "client", "--vdu", "NOPE"]) != 0
    assert "NOPE" in capsys.readouterr().err

