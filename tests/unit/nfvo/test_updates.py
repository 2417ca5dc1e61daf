"""``update`` for VNFs (new get_input values: VDUs recreated, ports kept), descriptors and NSs
(description), through the CLI against an in-process NFVO on the fake VIM."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.unit.nfvo.conftest import BRIDGE, DPID, SAMPLES, TACKER
from tests.unit.nfvo.test_cli import nfv

WITH_PARAMS = TACKER.parent / "vnfd" / "tosca-vnfd-with-params.yaml"
VALUES = TACKER.parent / "vnfd" / "tosca-vnfd-param-values.yaml"


def out_json(capsys):
    return json.loads(capsys.readouterr().out)


def write_values(tmp_path, name: str, **changes) -> str:
    values = {**yaml.safe_load(VALUES.read_text()), **changes}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(values))
    return str(path)


def identities(vnf: dict) -> dict:
    return {(c["name"], c.get("instance", 0)): (c["mac"], c["ip"], c["ovs_port"], c["ofport"])
            for d in vnf["vdus"] for c in d["cps"]}


def test_vnf_create_and_update_with_parameters(cli, tmp_path, capsys):
    assert nfv(f"nfv vim register local --bridge {BRIDGE} --dpid {DPID:#x}") == 0
    assert nfv(f"nfv vnfd-create --vnfd-file {WITH_PARAMS} withp") == 0
    capsys.readouterr()
    assert nfv(f"nfv vnf-create --vnfd-name withp --param-file {VALUES} v1 -f json") == 0, "get_input from the file"
    before = out_json(capsys)
    assert before["status"] == "ACTIVE" and {d["name"]: d["image"] for d in before["vdus"]}["VDU1"] == "cirros-0.5.2-x86_64-disk"

    newer = write_values(tmp_path, "newer.yaml", image_name="ubuntu-22.04")
    assert nfv(f"nfv vnf update v1 --param-file {newer} -f json") == 0
    after = out_json(capsys)
    assert after["status"] == "ACTIVE"
    assert {d["name"]: d["image"] for d in after["vdus"]}["VDU1"] == "ubuntu-22.04"
    assert identities(after) == identities(before), "ports, MACs, IPs and OpenFlow numbers are kept"

    moved = write_values(tmp_path, "moved.yaml", pkt_in_network="net9")
    assert nfv(f"nfv vnf-update v1 --param-file {moved}") == 1
    err = capsys.readouterr().err
    assert "cannot be updated in place" in err and "CP12@net0" in err and "CP12@net9" in err
    assert nfv("nfv vnf show v1 -f json") == 0
    assert identities(out_json(capsys)) == identities(before), "a refused update changes nothing"
    with pytest.raises(SystemExit) as usage:
        nfv("nfv vnf update v1")
    assert usage.value.code == 2 and "--param-file" in capsys.readouterr().err


def test_descriptor_and_ns_descriptions_update(cli, capsys):
    assert nfv(f"nfv vnfd-create --vnfd-file {SAMPLES / 'host.yaml'} host") == 0
    capsys.readouterr()
    assert nfv("nfv vnf descriptor update host --description 'client and server hosts' -f json") == 0
    assert out_json(capsys)["description"] == "client and server hosts"
    assert nfv("nfv vnfd-show host -f json") == 0
    shown = out_json(capsys)
    assert shown["description"] == "client and server hosts" and "tosca_definitions_version" in shown["template"]
    assert nfv("nfv nsd-update nope --description x") == 1
    assert "no NSD 'nope'" in capsys.readouterr().err
    assert nfv("nfv ns-update nope --description x") == 1
    assert "no NS 'nope'" in capsys.readouterr().err
