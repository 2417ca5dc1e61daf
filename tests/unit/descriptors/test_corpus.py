"""Every Tacker sample and every nfvchain sample loads with the installed tosca-parser."""

from __future__ import annotations

import ipaddress

import pytest

import descriptors as d
from tests.unit.descriptors.conftest import CORPUS, SAMPLES

VNFDS = sorted(p for p in CORPUS.glob("*/*.yaml") if "vnfd" in p.name and "param" not in p.name)
VNFFGDS = sorted(p for p in (CORPUS / "vnffgd").glob("tosca-vnffgd-*.yaml"))
PARAMS = {"tosca-vnfd-with-params.yaml": CORPUS / "vnfd/tosca-vnfd-param-values.yaml",
          "tosca-vnffgd-param-sample.yaml": CORPUS / "vnffgd/vnffg-param-file.yaml",
          "tosca-vnffgd-correlation.yaml": None}


def test_corpus_is_complete():
    assert len(list(CORPUS.glob("*/*.yaml"))) == 38  # templates and parameter files


def test_bundled_types_are_tackers_own():
    lib = CORPUS.parents[1] / "tacker/tosca/lib"
    for name in ("tacker_defs.yaml", "tacker_nfv_defs.yaml"):
        assert (SAMPLES.parent / "types" / name).read_bytes() == (lib / name).read_bytes()


@pytest.mark.parametrize("path", VNFDS, ids=lambda p: p.name)
def test_corpus_vnfd(path):
    vnfd = d.load_vnfd(path)
    assert vnfd.kind == "VNFD" and vnfd.vdus and vnfd.cps
    assert d.detect_kind(path) == "VNFD"
    for cp in vnfd.cps:
        assert vnfd.vdu(cp.vdu) is not None


@pytest.mark.parametrize("path", VNFFGDS, ids=lambda p: p.name)
def test_corpus_vnffgd_offline_and_against_vnfds(path, vnffg_vnfds):
    model = d.load_vnffgd(path)
    assert model.paths and all(p.hops for p in model.paths)
    params = PARAMS.get(path.name, None)
    if params is not None:
        resolved = d.load_vnffgd(path, params, vnfds=vnffg_vnfds)
        assert not resolved.unresolved_inputs


def test_vnfd_with_params_resolves():
    raw = d.load_vnfd(CORPUS / "vnfd/tosca-vnfd-with-params.yaml")
    assert raw.unresolved_inputs >= {"image_name", "flavor"}
    assert raw.vdu("VDU1").image == d.InputRef("image_name")
    vnfd = d.load_vnfd(CORPUS / "vnfd/tosca-vnfd-with-params.yaml", CORPUS / "vnfd/tosca-vnfd-param-values.yaml")
    assert vnfd.vdu("VDU1").image == "cirros-0.5.2-x86_64-disk"
    assert vnfd.vdu("VDU2").artifact.file.endswith(".img")
    assert vnfd.cp("CP11").management is True and not vnfd.unresolved_inputs


def test_nsd_with_abstract_vnfs():
    vnfds = {n: d.load_vnfd(CORPUS / f"nsd/{n}.yaml") for n in ("sample-tosca-vnfd1", "sample-tosca-vnfd2")}
    nsd = d.load_nsd(CORPUS / "nsd/sample-tosca-nsd.yaml", CORPUS / "nsd/ns_param.yaml", vnfds=vnfds)
    vnf1 = next(v for v in nsd.vnfs if v.node == "VNF1")
    assert vnf1.vnfd == "sample-tosca-vnfd1" and dict(vnf1.virtual_links) == {"virtualLink1": "VL1",
                                                                              "virtualLink2": "VL2"}
    assert {vl.network_name for vl in nsd.vls} == {"net_mgmt", "net0"}


@pytest.mark.parametrize("name", ["tosca-single-vnffg-nsd.yaml", "tosca-multiple-vnffg-nsd.yaml"])
def test_nsd_with_vnffgs(name):
    vnfds = {"sample-vnfd1": d.load_vnfd(CORPUS / "vnffg-nsd/tosca-vnfd1-sample.yaml"),
             "sample-vnfd2": d.load_vnfd(CORPUS / "vnffg-nsd/tosca-vnfd2-sample.yaml")}
    nsd = d.load_nsd(CORPUS / "vnffg-nsd" / name, CORPUS / "vnffg-nsd/ns_param.yaml", vnfds=vnfds)
    assert nsd.graphs and nsd.graphs[0].paths[0].hops[0].forwarder == "sample-vnfd1"


def test_multiple_vnffg_nsd_needs_its_undeclared_input():
    """Tacker's sample uses get_input net_dst_port_id without declaring it; only the
    parameter file (which has it) makes it loadable."""
    vnfds = {"sample-vnfd1": d.load_vnfd(CORPUS / "vnffg-nsd/tosca-vnfd1-sample.yaml"),
             "sample-vnfd2": d.load_vnfd(CORPUS / "vnffg-nsd/tosca-vnfd2-sample.yaml")}
    with pytest.raises(d.DescriptorError, match="net_dst_port_id"):
        d.load_nsd(CORPUS / "vnffg-nsd/tosca-multiple-vnffg-nsd.yaml", vnfds=vnfds)


def test_vnfd_model_details():
    vnfd = d.load_vnfd(CORPUS / "vnfd/tosca-vnfd-http-monitor.yaml")
    mon = vnfd.vdus[0].monitoring
    assert mon.driver == "http_ping" and dict(mon.parameters) == {"retry": 5, "timeout": 10, "port": 8000}
    assert dict(mon.actions) == {"failure": "respawn"}
    assert vnfd.vdus[0].compute == d.ComputeProperties(1, "2 GB", "20 GB")
    assert vnfd.first_data_cp().name == "CP2"
    heal = d.load_vnfd(CORPUS / "vnfd/tosca-vnfd-monitoring-vdu-autoheal.yaml")
    assert heal.vdus[0].monitoring.actions["failure"] == "vdu_autoheal"
    assert "sleep 90" in heal.vdus[0].user_data
    scale = d.load_vnfd(CORPUS / "vnfd/tosca-vnfd-alarm-scale.yaml")
    assert scale.scaling_policies[0].targets == ("VDU1",) and scale.scaling_policies[0].max_instances == 3
    assert {t.name for t in scale.alarm_policies[0].triggers} == {"vdu_hcpu_usage_scaling_out",
                                                                 "vdu_lcpu_usage_scaling_in"}
    place = d.load_vnfd(CORPUS / "vnfd/tosca-placement-policy-anti-affinity.yaml")
    assert place.placement_policies[0].policy == "anti-affinity" and place.placement_policies[0].targets == (
        "VDU1", "VDU2")
    image = d.load_vnfd(CORPUS / "vnfd/tosca-vnfd-image.yaml")
    assert image.vdus[0].image is None and image.vdus[0].artifact.name == "VNFImage"
    sub = d.load_vnfd(CORPUS / "nsd/sample-tosca-vnfd1.yaml")
    assert sub.vnf_type.node_type == "tosca.nodes.nfv.VNF1"
    assert sub.vnf_type.requirements["virtualLink1"] == ("CP11", "virtualLink")
    assert sub.cp("CP11").virtual_link is None


def test_vnffgd_model_details(vnffg_vnfds):
    legacy = d.load_vnffgd(CORPUS / "vnffgd/tosca-vnffgd-legacy-multiple-classifiers-sample.yaml")
    fp = legacy.paths[0]
    assert fp.style == "FP.Tacker" and fp.path_id == 51 and len(fp.classifiers) == 2
    match = fp.classifiers[0].match
    assert match.destination_port_range == (80, 1024) and match.ip_proto == 6
    assert match.ip_dst_prefix == ipaddress.ip_network("192.168.1.0/24")
    sym = d.load_vnffgd(CORPUS / "vnffgd/tosca-vnffgd-symmetrical-sample.yaml")
    assert sym.paths[0].symmetrical and sym.paths[0].style == "FP.TackerV2"
    corr = d.load_vnffgd(CORPUS / "vnffgd/tosca-vnffgd-correlation.yaml")
    assert corr.paths[0].correlation == "mpls" and corr.paths[0].hops[0].sfc_encap is True
    assert corr.paths[0].classifiers[0].match.network_src_port_id == d.InputRef("net_src_port_id")
    graph = d.load_vnffgd(CORPUS / "vnffgd/tosca-vnffgd-sample.yaml", vnfds=vnffg_vnfds).graphs[0]
    assert graph.constituent_vnfs == ("VNFD1", "VNFD2") and graph.number_of_endpoints == 2


def test_own_samples(demo_vnfds):
    images = {v.vdus[0].image for v in demo_vnfds.values()}
    assert images == {"nsh-firewall", "nsh-counter", "nsh-forwarder", "host"}
    assert demo_vnfds["nsh-unaware"].first_data_cp().name == "CP2"
    chain = d.load_vnffgd(SAMPLES / "demo-chain-vnffgd.yaml", vnfds=demo_vnfds)
    assert len(chain.paths) == 2  # several paths per graph, all kept
    assert chain.paths[0].forwarders == ("nsh-firewall", "nsh-counter", "nsh-unaware")
    assert chain.paths[0].classifiers[0].match.ip_src_prefix == ipaddress.ip_network("10.0.0.0/24")
    assert chain.paths[1].classifiers[1].match.destination_port_range == (81, 65535)
    assert d.ACL_FIELDS == tuple(d.AclMatch.__dataclass_fields__)
    assert len(d.ACL_FIELDS) == 34
