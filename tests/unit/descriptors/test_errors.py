"""Each onboarding error of issue 3 gets one ``DescriptorError`` naming file, node and field."""

from __future__ import annotations

import copy

import pytest
import yaml

import descriptors as d
from tests.unit.descriptors.conftest import CORPUS, SAMPLES

VNFD = yaml.safe_load((CORPUS / "vnfd/tosca-vnfd-hello-world.yaml").read_text())
VNFFGD = yaml.safe_load((SAMPLES / "demo-chain-vnffgd.yaml").read_text())


def _errors(loader, data, **kw) -> tuple[d.Issue, ...]:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(d.DescriptorError) as info:
        loader(text, file="bad.yaml", **kw)
    assert all(i.file == "bad.yaml" for i in info.value.issues)
    return info.value.issues


def _one(issues, node, field, text):
    hits = [i for i in issues if i.node == node and (field is None or i.field == field) and text in i.message]
    assert hits, f"no issue {node}.{field} ~ {text!r} in {[str(i) for i in issues]}"
    return hits[0]


def _vnffgd(mutate):
    data = copy.deepcopy(VNFFGD)
    mutate(data["topology_template"])
    return data


def _web(topo):
    return topo["node_templates"]["web_path"]["properties"]


def _acl(topo):
    return _web(topo)["policy"]["criteria"][0]["classifier"]


def test_malformed_yaml_has_a_line():
    issue = _errors(d.load_vnfd, "tosca_definitions_version: x\ntopology_template:\n  a: [1,\n  b: 2\n")[0]
    assert issue.line is not None and issue.line >= 3 and "malformed YAML" in issue.message
    tab = _errors(d.load_vnfd, "a: 1\nb:\n\t- c\n")[0]
    assert tab.line == 3


def test_unknown_node_type():
    data = copy.deepcopy(VNFD)
    data["topology_template"]["node_templates"]["CP2"]["type"] = "tosca.nodes.nfv.CP.Nope"
    issue = _one(_errors(d.load_vnfd, data), "CP2", "type", "unknown node type")
    assert issue.line is not None


@pytest.mark.parametrize("field,value,text", [
    ("ip_protocol", 6, "unknown ACL field"),
    ("vlan_id", 4095, "out of range 1-4094"),
    ("ip_dscp", 64, "out of range"),
    ("ip_proto", 0, "out of range 1-254"),
    ("destination_port_range", "abc", "port range"),
    ("destination_port_range", "10-abc", "port range"),
    ("destination_port_range", "90-80", "min above max"),
    ("destination_port_range", "1-70000", "0-65535"),
    ("ip_dst_prefix", "10.0.0.300/24", "invalid CIDR"),
    ("ip_dst_prefix", "10.0.0.0/33", "invalid CIDR"),
    ("eth_src", "zz:00:00:00:00:00", "MAC"),
])
def test_acl_fields(field, value, text):
    def mutate(topo):
        _acl(topo)[field] = value
    _one(_errors(d.load_vnffgd, _vnffgd(mutate)), "web_path", field, text)


def test_forwarder_missing_from_constituent_vnfs():
    def mutate(topo):
        topo["groups"]["demo_chain"]["properties"]["constituent_vnfs"].remove("nsh-counter")
    _one(_errors(d.load_vnffgd, _vnffgd(mutate)), "web_path", "path[1].forwarder", "constituent_vnfs")


def test_capability_not_a_cp_of_the_vnfd(demo_vnfds):
    def mutate(topo):
        _web(topo)["path"][1]["capability"] = "CP9"
    _one(_errors(d.load_vnffgd, _vnffgd(mutate), vnfds=demo_vnfds), "web_path", "path[1].capability",
         "is not a CP of VNFD 'nsh-counter'")


def test_number_of_endpoints():
    def mutate(topo):
        topo["groups"]["demo_chain"]["properties"]["number_of_endpoints"] = 3
    _one(_errors(d.load_vnffgd, _vnffgd(mutate)), "demo_chain", "number_of_endpoints", "says 3")


def test_duplicate_classifiers():
    def same_name(topo):
        crit = topo["node_templates"]["tcp_path"]["properties"]["policy"]["criteria"]
        crit[1]["name"] = crit[0]["name"]
    _one(_errors(d.load_vnffgd, _vnffgd(same_name)), "tcp_path", None, "duplicate classifier")

    def same_match(topo):
        crit = topo["node_templates"]["tcp_path"]["properties"]["policy"]["criteria"]
        crit[1]["classifier"] = dict(crit[0]["classifier"])
    _one(_errors(d.load_vnffgd, _vnffgd(same_match)), "tcp_path", None, "duplicates the match")

    def across_paths(topo):
        tcp = topo["node_templates"]["tcp_path"]["properties"]["policy"]["criteria"]
        tcp[0]["classifier"] = dict(_acl(topo))
    _one(_errors(d.load_vnffgd, _vnffgd(across_paths)), "tcp_path", None, "same match")


def test_hop_repeated_non_consecutively():
    def mutate(topo):
        _web(topo)["path"].append({"forwarder": "nsh-firewall", "capability": "CP2"})
    _one(_errors(d.load_vnffgd, _vnffgd(mutate)), "web_path", "path[4]", "appears again")


def test_consecutive_hops_on_one_vnf_are_one_service_function():
    chain = d.load_vnffgd(SAMPLES / "demo-chain-vnffgd.yaml")
    assert len(chain.paths[0].hops) == 4 and len(chain.paths[0].forwarders) == 3


def test_si_underflow():
    def mutate(topo):
        names = [f"vnf{i}" for i in range(256)]
        _web(topo)["path"] = [{"forwarder": n, "capability": "CP2"} for n in names]
        topo["groups"]["demo_chain"]["properties"]["constituent_vnfs"] = names
    _one(_errors(d.load_vnffgd, _vnffgd(mutate)), "web_path", "path", "underflow")

    def ok(topo):
        names = [f"vnf{i}" for i in range(255)]
        _web(topo)["path"] = [{"forwarder": n, "capability": "CP2"} for n in names]
        topo["groups"]["demo_chain"]["properties"]["constituent_vnfs"] = names + ["nsh-firewall", "nsh-counter"]
    text = yaml.safe_dump(_vnffgd(ok), sort_keys=False)
    assert len(d.load_vnffgd(text).paths[0].hops) == 255


def test_missing_required_inputs():
    path = CORPUS / "vnfd/tosca-vnfd-with-params.yaml"
    with pytest.raises(d.DescriptorError) as info:
        d.load_vnfd(path, {"image_name": "x"})
    missing = {i.field for i in info.value.issues}
    assert "inputs.flavor" in missing and "inputs.image_name" not in missing
    assert all(i.line is not None for i in info.value.issues)


def test_get_input_of_undeclared_input():
    def mutate(topo):
        _acl(topo)["ip_dst_prefix"] = {"get_input": "nowhere"}
    _one(_errors(d.load_vnffgd, _vnffgd(mutate)), "web_path", None, "no declared input")


def test_vnfd_semantics():
    data = copy.deepcopy(VNFD)
    nodes = data["topology_template"]["node_templates"]
    nodes["CP2"]["requirements"][1]["virtualBinding"]["node"] = "VDU9"
    nodes["CP3"]["properties"]["order"] = 0
    nodes["VDU1"]["properties"]["monitoring_policy"] = {"name": "ping", "actions": {"failure": "reboot"}}
    issues = _errors(d.load_vnfd, data)
    _one(issues, "CP2", "virtualBinding", "not a VDU")
    _one(issues, "CP3", "order", "already used")
    _one(issues, "VDU1", "monitoring_policy.actions.failure", "unknown action")


def test_tosca_parser_errors_are_issues_too():
    data = copy.deepcopy(VNFD)
    del data["topology_template"]["node_templates"]["VL1"]["properties"]["vendor"]
    _one(_errors(d.load_vnfd, data), "VL1", None, "vendor")
    data = copy.deepcopy(VNFD)
    data["topology_template"]["node_templates"]["CP1"]["properties"]["type"] = "bogus"
    _one(_errors(d.load_vnfd, data), "CP1", None, "bogus")


def test_wrong_kind_and_not_a_template():
    _one(_errors(d.load_vnffgd, VNFD), None, None, "is a VNFD")
    _one(_errors(d.load_vnfd, "- just\n- a list\n"), None, None, "mapping")
    with pytest.raises(d.DescriptorError):
        d.load_nsd(CORPUS / "nsd/sample-tosca-nsd.yaml", vnfds={})
