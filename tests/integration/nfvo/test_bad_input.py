"""Bad input through the ``nfv`` CLI and the gRPC API against the real stack: unknown names, bad
match strings, wrong types, oversized and malformed requests. Each is refused with one line naming
the offending element (non-zero exit), and nothing changes: the NFVO's lists, the bridge's flows
and the VNFs' namespaces are what they were."""

from __future__ import annotations

import grpc
import pytest

from nfvo.api.server import MAX_MESSAGE, connect
from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.catalog import MAX_TEMPLATE
from tests.integration.nfvo.nfvcli import SAMPLES, TWIN_VNFFGD, Snapshot, fails, ok, onboard_hosts, run, snapshot

pytestmark = pytest.mark.integration

# (command, words its one-line error must contain); the stack has VNFs fw and cnt, chain web
# (fw, cnt) with classifier http (tcp_dst=8080,ip_proto=6), VNFD firewall, VNFFGD twin
REFUSED = [
    # unknown names
    ("nfv vnffg-show nosuch", "nosuch", "NOT_FOUND"),
    ("nfv vnf create --vnfd-name nosuch x1", "VNFD 'nosuch'", "NOT_FOUND"),
    ("nfv vnffg-create --name c1 --chain fw,nosuch", "hops[1]", "nosuch", "NOT_FOUND"),
    ("nfv vnffg-create --name c1 --vnffgd-name nosuch", "VNFFGD 'nosuch'"),
    ("nfv vnffg-create --name c1 --vnffgd-name twin --vnf-mapping firewall:nosuch", "vnf_mapping.firewall",
     "no VNF 'nosuch'"),
    ("nfv vnffg-create --name c1 --vnffgd-name twin --vnf-mapping nosuch:fw", "'nosuch' is not a forwarder"),
    ("nfv vnffg-update web --chain fw,nosuch", "vnffg[web]", "nosuch"),
    ("nfv vnffg-classifier-create --name k1 --chain nosuch --match tcp_dst=80", "VNFFG 'nosuch'"),
    ("nfv vnffg-classifier-create --name k1 --chain web --match tcp_dst=81 --path nosuch", "path 'nosuch'"),
    ("nfv vnffg-classifier-create --name k1 --chain web --match network_src_port_id=nosuch:CP2,tcp_dst=81",
     "classifiers[k1].in_port", "nosuch"),
    ("nfv vnffg-classifier-create --name k1 --chain web --match network_src_port_id=noport,tcp_dst=81",
     "classifiers[web/path/k1].in_port", "noport"),
    ("nfv ns-create --nsd-name nosuch n1", "NSD 'nosuch'"),
    ("nfv vnffg-delete nosuch", "nosuch", "NOT_FOUND"),
    ("nfv vnf-delete nosuch", "nosuch", "NOT_FOUND"),
    ("nfv ns-delete nosuch", "nosuch", "NOT_FOUND"),
    ("nfv vnfd-delete nosuch", "nosuch", "NOT_FOUND"),
    ("nfv vnffg-classifier-delete nosuch", "nosuch", "NOT_FOUND"),
    ("nfv vim update nosuch --ingress-port client", "VIM 'nosuch'"),
    # bad match strings
    ("nfv vnffg-classifier-create --name k2 --chain web --match tcp_dest=99999", "match.tcp_dest", "99999"),
    ("nfv vnffg-classifier-create --name k2 --chain web --match bogus=1", "match.bogus", "unknown match field"),
    ("nfv vnffg-classifier-create --name k2 --chain web --match tcp_dst", "'tcp_dst' is not FIELD=VALUE"),
    ("nfv vnffg-classifier-create --name k2 --chain web --match tcp_dst=80,tcp_dst=81", "tcp_dst is given twice"),
    ("nfv vnffg-classifier-create --name k2 --chain web --match tcp_dst=-1", "match.tcp_dst", "'-1'"),
    ("nfv vnffg-classifier-create --name k2 --chain web --match udp_dst=53,ip_proto=6", "match.udp_dst",
     "ip_proto is 6"),
    ("nfv vnffg-classifier-create --name k2 --chain web --match ip_dst_prefix=10.0.0.300/24",
     "match.ip_dst_prefix", "10.0.0.300"),
    ("nfv vnffg-classifier-create --name k2 --chain web --match ip_proto=tcpp,tcp_dst=81", "match.ip_proto", "tcpp"),
    ("nfv vnffg-classifier-create --name k2 --chain web --match " + ",".join(f"f{i}=1" for i in range(40)),
     "40 fields"),
    ("nfv vnffg-classifier-create --name k2 --chain web --match ip_proto=6,tcp_dst=8080", "identical", "http"),
    ("nfv vnffg-classifier-update http --match bogus=2", "classifiers[web/path/http].match.bogus"),
    # wrong types and names
    ("nfv vnffg-create --name c1 --chain fw:CP9", "hops[0]", "no CP 'CP9'"),
    ("nfv vnffg-create --name c1 --chain fw,fw", "fw appears twice"),
    ("nfv vnffg-classifier-create --name k3 --chain web --match network_src_port_id=fw,tcp_dst=82", "in_port",
     "service function port"),
    ("nfv vnffg-create --name c1 --chain fw --vnffgd-name twin", "either a chain"),
    ("nfv vnffg-create --name c1 --vnffgd-name twin --vnf-mapping counter:fw", "vnf_mapping.counter",
     "instance of firewall"),
    ("nfv vnffg-create --name c1 --vnffgd-name twin", "identical", "twin_web"),
    ("nfv vnffg-create --name web --chain fw", "VNFFG 'web' already exists"),
    ("nfv vnffg-create --name 'c 1' --chain fw", "'c 1' is not a valid name"),
    ("nfv vnffg-classifier-create --name http --chain web --match tcp_dst=81", "classifier 'http' already exists"),
    ("nfv vnf create --vnfd-name firewall 'x y'", "'x y' is not a valid name"),
    ("nfv vnf create --vnfd-name firewall fw", "VNF 'fw' exists already"),
    ("nfv vnf-delete fw", "VNF fw is a hop of VNFFG web"),
    ("nfv vnfd-delete firewall", "in use by VNF fw"),
    ("nfv vim register v2 --bridge br --dpid 0", "dpid"),
]


def chain_stack(capsys, stack, tmp_path) -> None:
    """Hosts, two SF VNFs and a classified chain, so a refused change has live flows to spoil."""
    onboard_hosts(capsys, stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-firewall.yaml'} firewall")
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter.yaml'} counter")
    ok(capsys, "nfv vnf create --vnfd-name firewall fw")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    ok(capsys, "nfv vnffg-create --name web --chain fw,cnt --symmetrical")
    ok(capsys, "nfv vnffg-classifier-create --name http --chain web --match tcp_dst=8080,ip_proto=6")
    twin = tmp_path / "twin.yaml"
    twin.write_text(TWIN_VNFFGD)
    ok(capsys, f"nfv vnffgd-create --vnffgd-file {twin} twin")


def unchanged(capsys, stack, ovs, before: Snapshot, what: str) -> None:
    after = snapshot(capsys, stack, ovs)
    for field in ("records", "flows", "namespaces"):
        assert getattr(after, field) == getattr(before, field), f"{what} changed the {field}"


def test_bad_cli_input_is_refused_and_changes_nothing(nfvo_stack, ovs, tmp_path, capsys):
    chain_stack(capsys, nfvo_stack, tmp_path)
    before = snapshot(capsys, nfvo_stack, ovs)
    assert before.flows and before.records["classifier"]
    for line, *needles in REFUSED:
        fails(capsys, line, *needles)
        unchanged(capsys, nfvo_stack, ovs, before, line)
    # argparse refuses a bad flag value itself: usage, then the line naming it, exit 2
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "nfv vnffg-create --name c1 --chain fw --symmetrical maybe")
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_.value.code == 2 and "--symmetrical" in err and "'maybe'" in err, err
    unchanged(capsys, nfvo_stack, ovs, before, "--symmetrical maybe")


def test_bad_files_and_oversized_requests_are_refused(nfvo_stack, ovs, tmp_path, capsys):
    chain_stack(capsys, nfvo_stack, tmp_path)
    files = {"broken.yaml": "tosca_definitions_version: [unclosed\n  - {\n",
             "list.yaml": "- a\n- b\n",
             "big.yaml": "# " + "x" * MAX_TEMPLATE + "\n" + (SAMPLES / "host.yaml").read_text(),
             "huge.yaml": "# " + "x" * MAX_MESSAGE + "\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "binary.yaml").write_bytes(b"\x00\xff\xfe" * 100)
    before = snapshot(capsys, nfvo_stack, ovs)
    for line, *needles in [
        (f"nfv vnfd-create --vnfd-file {tmp_path / 'broken.yaml'} d1", "VNFD d1:2", "malformed YAML"),
        (f"nfv vnfd-create --vnfd-file {tmp_path / 'list.yaml'} d1", "VNFD d1:1", "must be a YAML mapping"),
        (f"nfv vnfd-create --vnfd-file {tmp_path / 'binary.yaml'} d1", "binary.yaml", "utf-8"),
        (f"nfv vnfd-create --vnfd-file {tmp_path / 'missing.yaml'} d1", "missing.yaml", "No such file"),
        (f"nfv vnfd-create --vnfd-file {SAMPLES / 'demo-chain-vnffgd.yaml'} d1", "this is a VNFFGD, not a VNFD"),
        (f"nfv nsd-create --nsd-file {SAMPLES / 'host.yaml'} d1", "this is a VNFD, not a NSD"),
        (f"nfv vnfd-create --vnfd-file {tmp_path / 'big.yaml'} d1", "template", f"at most {MAX_TEMPLATE}"),
        (f"nfv vnfd-create --vnfd-file {tmp_path / 'huge.yaml'} d1", "huge.yaml", "too large", "RESOURCE_EXHAUSTED"),
        (f"nfv vnf create --vnfd-name firewall x1 --param-file {tmp_path / 'broken.yaml'}", "params:2", "malformed"),
        (f"nfv vnf create --vnfd-name firewall x1 --param-file {tmp_path / 'list.yaml'}", "params", "mapping"),
    ]:
        fails(capsys, line, *needles)
        unchanged(capsys, nfvo_stack, ovs, before, line)

    stub = connect(nfvo_stack.address)
    for method, request, needle in [
        ("CreateDescriptor", pb.CreateDescriptorRequest(kind="BOGUS", name="x", template="a: 1"), "kind"),
        ("CreateDescriptor", pb.CreateDescriptorRequest(kind="VNFD", name="x", template=" "), "template"),
        ("CreateVim", pb.CreateVimRequest(name="v3", type="openstack", bridge="b", dpid=1), "type"),
        ("CreateVnffg", pb.CreateVnffgRequest(name="", chain="fw"), "name"),
        ("CreateVnffg", pb.CreateVnffgRequest(name="c1", chain=",,"), "chain"),
        ("CreateClassifier", pb.CreateClassifierRequest(name="k1", chain="web", match=""), "match"),
        ("CreateNs", pb.CreateNsRequest(name="n1", nsd_name="x", params_yaml="- a"), "params"),
    ]:
        with pytest.raises(grpc.RpcError) as refused:
            getattr(stub, method)(request, timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, refused.value)
        assert needle in refused.value.details() and "\n" not in refused.value.details(), refused.value.details()

    # bytes that are no protobuf message, and a message above the server's limit (this channel
    # would send it; the CLI's own channel refuses before sending)
    channel = grpc.insecure_channel(nfvo_stack.address, options=[("grpc.max_send_message_length", 2 * MAX_MESSAGE)])
    try:
        raw = channel.unary_unary("/nfvchain.nfvo.v1.Nfvo/CreateVnffg")
        for junk in (b"\xff\xff\xff\xff", bytes(range(256))):
            with pytest.raises(grpc.RpcError) as refused:
                raw(junk, timeout=30)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value
            assert "malformed request" in refused.value.details() and "CreateVnffg" in refused.value.details()
        create = channel.unary_unary("/nfvchain.nfvo.v1.Nfvo/CreateDescriptor",
                                     request_serializer=pb.CreateDescriptorRequest.SerializeToString)
        with pytest.raises(grpc.RpcError) as refused:
            create(pb.CreateDescriptorRequest(kind="VNFD", name="x", template="x" * (MAX_MESSAGE + 1)), timeout=60)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refused.value
        assert str(MAX_MESSAGE) in refused.value.details()
    finally:
        channel.close()
    unchanged(capsys, nfvo_stack, ovs, before, "bad gRPC requests")
    assert ok(capsys, "nfv vnffg-show web -f json")["status"] == "ACTIVE"  # the server still serves
