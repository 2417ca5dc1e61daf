"""The ``nfv`` CLI against an in-process NFVO: the users' seven commands verbatim, output
formats, and one-line errors with a non-zero exit."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml

from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.cli.main import main
from tests.unit.nfvo.conftest import BRIDGE, DPID, TACKER, sample, typed_vnfd
from tests.unit.nfvo.test_api import onboard

SEVEN = """
nfv vnf descriptor create --vnfd-file tosca-vnffg-vnfd1.yaml VNFD1
nfv vnf create --vnfd-name VNFD1 VNF1
nfv vnf descriptor create --vnfd-file tosca-vnffg-vnfd2.yaml VNFD2
nfv vnf create --vnfd-name VNFD2 VNF2
nfv vnffg-create --name mychain --chain VNF2,VNF1 --symmetrical True
nfv vnffg-create --name mychain2 --chain firewall,nat --abstract-types
nfv vnffg-classifier-create --name myclass --chain mychain --match tcp_dest=80,ip_proto=6
"""


def nfv(line: str) -> int:
    argv = shlex.split(line)
    assert argv[0] == "nfv"
    return main(argv[1:])


def test_seven_commands_verbatim(cli, monkeypatch, capsys):
    stub, stack = cli
    onboard(stub)
    for name, file, node_type in (("fwd", "nsh-firewall.yaml", "tosca.nodes.nfv.VNF.firewall"),
                                  ("natd", "nsh-counter.yaml", "tosca.nodes.nfv.VNF.nat")):
        stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name=name, template=typed_vnfd(file, node_type)))
    for name, vnfd in (("fw1", "fwd"), ("fw2", "fwd"), ("nat1", "natd")):
        stub.CreateVnf(pb.CreateVnfRequest(name=name, vnfd_name=vnfd))
    monkeypatch.chdir(TACKER)
    for line in SEVEN.strip().splitlines():
        assert nfv(line) == 0, line
    capsys.readouterr()
    assert nfv("nfv vnffg-list -f json") == 0
    chains = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert chains["mychain"]["status"] == "ACTIVE" and chains["mychain"]["paths"][0]["reverse_spi"] > 0
    assert chains["mychain"]["paths"][0]["classifiers"] == ["myclass"]
    assert chains["mychain2"]["paths"][0]["hops"] == ["type:firewall", "type:nat"]
    doc = {p.name: p for p in stack.controller.document.paths}
    assert doc["mychain2/path"].hops == ("fw1:CP2+fw2:CP2", "nat1:CP2")
    assert doc["mychain/path"].classifiers[0].name == "mychain/path/myclass"
    assert nfv("nfv vnffg-classifier-show myclass -f yaml") == 0
    assert yaml.safe_load(capsys.readouterr().out)["match"] == {"tcp_dest": "80", "ip_proto": "6"}
    for line in ("nfv vnf list", "nfv vnffg list", "nfv vnffg classifier list", "nfv vnf descriptor list",
                 "nfv vim list", "nfv vnffg-show mychain", "nfv vnf show VNF1"):
        assert nfv(line) == 0, line
    out = capsys.readouterr().out
    assert "mychain2" in out and "VNF1" in out


@pytest.mark.parametrize("line,text", [
    ("nfv vnf create --vnfd-name NOPE VNFX", "no VNFD 'NOPE' (NOT_FOUND)"),
    ("nfv vnffg-create --name c --chain nosuch", "no VNF 'nosuch'"),
    ("nfv vnffg-create --name c --chain server --symmetrical maybe", None),
    ("nfv vnffg-classifier-create --name k --chain nochain --match tcp_dst=80", "no VNFFG 'nochain'"),
    ("nfv vnffg-classifier-create --name k --chain c1 --match tcp_dst", "is not FIELD=VALUE"),
    ("nfv vnffg-classifier-create --name k --chain c1 --match tcp_dst=99999", "match.tcp_dst"),
    ("nfv vnf descriptor create --vnfd-file /nonexistent.yaml D", "/nonexistent.yaml"),
    ("nfv vnffg-delete nochain", "NOT_FOUND"),
])
def test_errors_are_one_line(cli, capsys, line, text):
    stub, stack = cli
    onboard(stub)
    stub.CreateVnffg(pb.CreateVnffgRequest(name="c1", chain="server"))
    capsys.readouterr()
    if text is None:  # argparse rejects it
        with pytest.raises(SystemExit) as exit_:
            nfv(line)
        assert exit_.value.code == 2
        return
    assert nfv(line) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("nfv: error:") and "\n" not in err and text in err, err
    assert [c.name for c in stub.ListClassifiers(pb.ListRequest()).classifiers] == []


def test_unreachable_server(monkeypatch, capsys):
    monkeypatch.setenv("NFV_NFVO_ADDRESS", "127.0.0.1:1")
    assert main(["vnf", "list", "--timeout", "2"]) == 1
    assert "not reachable" in capsys.readouterr().err


def test_vim_register_and_exec(cli, capsys):
    stub, stack = cli
    assert main(["vim", "register", "local", "--bridge", BRIDGE, "--dpid", hex(DPID), "--ingress-port", "client"]) == 0
    capsys.readouterr()
    assert main(["vim-list", "-f", "json"]) == 0
    (vim,) = json.loads(capsys.readouterr().out)
    assert vim["is_default"] and vim["dpid"] == str(DPID) and vim["ingress_port"] == "client"
    stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name="host", template=sample("host.yaml")))
    stub.CreateVnf(pb.CreateVnfRequest(name="client", vnfd_name="host"))
    capsys.readouterr()
    assert main(["vnf", "exec", "client", "--", "echo", "hi"]) == 0
