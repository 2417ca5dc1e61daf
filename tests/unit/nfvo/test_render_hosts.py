"""Rendering chains whose VNFs sit on different compute hosts (pure): the switches come from the
VIM's hosts, each classifier is bound to its port's switch, and a path crosses switches only when
every switch involved is on the overlay; the document the NFVO builds is one the controller takes
and renders into per-switch flows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nfvo.errors import FailedPrecondition, InvalidArgument
from nfvo.model import HopSpec, PathSpec, VimRecord, VnffgSpec
from nfvo.vnffg.render import Inventory, build_document, render_vnffg
from nfvo.vnffg.sffs import vim_switches
from nfvo.vnffg.spec import classifier_spec, parse_chain, parse_match
from sdn.cookie import Role, make_cookie
from sdn.document import Destination, Switch, check_document
from sdn.overlay import crossing_paths
from sdn.render import compute_switch_states
from tests.unit.nfvo.conftest import BRIDGE, DPID, onboard_demo
from vnfm.model import CpRecord, VduRecord, VnfRecord
from vnfm.vim.base import ComputeHostInfo

HOSTS = ("compute1", "compute2", "compute3")


def host(n: int, **extra) -> ComputeHostInfo:
    name = f"compute{n}"
    return ComputeHostInfo(name, True, 4, 1 << 30, 1 << 30, switch=name, bridge="br-int", dpid=0xC0 + n,
                           ovsdb=f"unix:/run/{name}/db.sock", host_id=n, underlay_ip=f"172.31.250.{n}",
                           gpe_port="gpe0", tunnel_ports=(f"vxl-{n}",), **extra)


SWITCHES = vim_switches([VimRecord("id", "local", "local", "br-int", 0xC0)], [host(n) for n in (1, 2, 3)])


def vnf(name: str, *hosts: str, aware: bool = True, vl: str = "data") -> VnfRecord:
    """One VDU instance per host given; CP1 management, CP2 on ``vl``."""
    vdus = tuple(VduRecord("VDU1", i, f"ns-{name}{i}", "img", None, (
        CpRecord("CP1", "VDU1", i, "mgmt", 0, True, "eth0", f"02:00:00:00:{i:02x}:01", "", f"{name}{i}m", 1, h),
        CpRecord("CP2", "VDU1", i, vl, 1, False, "eth1", f"02:00:00:{len(name):02x}:{i:02x}:02", "", f"{name}{i}d", 2, h)),
        None, nsh_aware=aware) for i, h in enumerate(hosts))
    return VnfRecord(f"id-{name}", name, "vnfd", "ACTIVE", "", vdus, 0.0, None)


VNFS = {v.name: v for v in (vnf("client", "compute1"), vnf("server", "compute1"), vnf("fw", "compute2"),
                            vnf("ids", "compute3"), vnf("lb", "compute2", "compute3"),
                            vnf("bump", "compute2", aware=False), vnf("peer", "compute3"))}
INV = Inventory(VNFS, SWITCHES)


def spec(chain: str, match: str, *, symmetrical: bool = False) -> VnffgSpec:
    return VnffgSpec((PathSpec("p", parse_chain(chain), (classifier_spec("web", parse_match(match)),), symmetrical),))


def test_the_vim_hosts_are_the_switches_with_their_overlay_and_tunnel_ports() -> None:
    assert set(SWITCHES) == set(HOSTS)  # the VIM record's br-int is every host's bridge: described by them
    assert SWITCHES["compute2"] == Switch("compute2", 0xC2, "unix:/run/compute2/db.sock", 2, "172.31.250.2", "gpe0",
                                          ("vxl-2",))
    # today's single-host VIM: its bridge is its switch, the dpid is the registered one; another VIM stays
    single = ComputeHostInfo("this", True, 1, 1, 1, switch="nfv-br0", bridge="nfv-br0")
    other = VimRecord("id2", "old", "local", "br-old", 0x99)
    assert vim_switches([VimRecord("id", "local", "local", "nfv-br0", 7), other], [single]) == {
        "nfv-br0": Switch("nfv-br0", 7), "br-old": Switch("br-old", 0x99)}
    # a host whose dpid nobody knows is no switch the NFVO can program
    assert vim_switches([], [replace(single, switch="x", bridge="x")]) == {}


def test_a_symmetric_chain_over_three_hosts_renders_and_the_controller_takes_it() -> None:
    out = render_vnffg("g", spec("fw,ids", "network_src_port_id=client,network_dst_port_id=server,tcp_dest=80",
                                 symmetrical=True), {"p": 5, "p~reverse": 6}, INV)
    fwd, rev = out.paths
    assert [(c.switch, c.in_port) for c in fwd.classifiers] == [("compute1", "client0d")]
    assert [(c.switch, c.in_port) for c in rev.classifiers] == [("compute1", "server0d")]
    assert out.switches == set(HOSTS)
    doc = check_document(build_document(INV.switches, [out]))
    assert doc.switches == tuple(SWITCHES[h] for h in HOSTS)  # full entries: overlay and tunnel ports
    assert crossing_paths(doc) == {"g/p", "g/p/reverse"}
    ports = {0xC1: {"client0d": 1, "server0d": 2, "gpe0": 9, "vxl-1": 8},
             0xC2: {"fw0d": 3, "gpe0": 9, "vxl-2": 8}, 0xC3: {"ids0d": 4, "gpe0": 9, "vxl-3": 8}}
    states = compute_switch_states(doc, ports)
    tun = {dpid: {str(a) for f in s.flows for a in f.actions if "tun_ipv4_dst" in str(a)} for dpid, s in states.items()}
    assert all(tun.values()), tun  # every host sends NSH on to another


def test_instances_of_one_sf_on_two_hosts_are_one_hop() -> None:
    out = render_vnffg("g", spec("lb", "network_src_port_id=client,network_dst_port_id=server,tcp_dest=80",
                                 symmetrical=True), {"p": 5, "p~reverse": 6}, INV)
    (fn,) = out.functions
    assert [(i.switch, i.port) for i in fn.instances] == [("compute2", "lb0d"), ("compute3", "lb1d")]
    check_document(build_document(INV.switches, [out]))


def test_a_portless_classifier_sits_on_every_host_a_network_one_on_every_port() -> None:
    out = render_vnffg("g", spec("fw", "tcp_dest=80"), {"p": 5}, INV)
    assert [(c.name, c.switch, c.in_port) for c in out.paths[0].classifiers] == [
        (f"g/p/web@{h}", h, "") for h in HOSTS]
    out = render_vnffg("g", spec("fw", "network_name=data,tcp_dest=80"), {"p": 5}, INV)
    on = {(c.switch, c.in_port) for c in out.paths[0].classifiers}
    assert ("compute1", "client0d") in on and ("compute3", "peer0d") in on and ("compute2", "fw0d") not in on
    check_document(build_document(INV.switches, [out]))


def test_a_switch_off_the_overlay_is_refused_by_name() -> None:
    inv = replace(INV, switches={**SWITCHES, "compute3": Switch("compute3", 0xC3)})
    with pytest.raises(FailedPrecondition) as err:
        render_vnffg("g", spec("fw,ids", "network_src_port_id=client,tcp_dest=80"), {"p": 5}, inv)
    assert "compute1, compute2, compute3" in err.value.message
    assert "compute3 has no host id, tunnel IP, GPE port" in err.value.message
    assert err.value.field == "vnffg[g].p"
    # all on one host: no overlay needed
    local = Inventory({**VNFS, "fw": vnf("fw", "compute3")}, inv.switches)
    render_vnffg("g", spec("fw", "network_src_port_id=peer,tcp_dest=80"), {"p": 5}, local)


def test_an_nsh_unaware_router_on_another_host_is_carried_and_the_path_ends_on_its_host() -> None:
    """fw on compute2 (aware), the one-armed router ``bump`` and ids on compute3; the classifier on
    compute1, symmetric. The controller re-classifies after the router on its host (C1 = that
    host and the router's port), so the forward path ends there, not back on compute1; the
    reverse knows its destination (the client's CP, network_src_port_id) and ends on its host."""
    inv = Inventory({**VNFS, "bump": vnf("bump", "compute3", aware=False)}, SWITCHES)
    out = render_vnffg("g", spec("fw,bump,ids", "network_src_port_id=client,tcp_dest=80", symmetrical=True),
                       {"p": 5, "p~reverse": 6}, inv)
    doc = check_document(build_document(inv.switches, [out]))
    assert crossing_paths(doc) == {"g/p", "g/p/reverse"}
    ports = {0xC0 + n: {"gpe0": 10, "client0d": 1, "server0d": 2, "fw0d": 3, "bump0d": 4, "ids0d": 5} for n in (1, 2, 3)}
    states = compute_switch_states(doc, ports)
    ends = {d: {spi for spi in (5, 6) for f in s.flows if f.cookie == make_cookie(Role.EGRESS, spi)}
            for d, s in states.items()}
    assert ends == {0xC1: {6}, 0xC2: set(), 0xC3: {5}}


def test_an_nsh_unaware_hop_the_proxy_cannot_carry_across_hosts_is_refused_naming_the_hop() -> None:
    two_armed = vnf("wire", "compute2", aware=False)
    cp3 = replace(two_armed.vdus[0].cps[1], name="CP3", ovs_port="wire0o", mac="02:00:00:00:99:03")
    wire = replace(two_armed, vdus=(replace(two_armed.vdus[0], cps=(*two_armed.vdus[0].cps, cp3)),))
    inv = Inventory({**VNFS, "wire": wire, "spread": vnf("spread", "compute2", "compute3", aware=False)}, SWITCHES)
    hops = (HopSpec(("fw",)), HopSpec(("wire",), "CP2", "", False, "CP3"))
    web = classifier_spec("web", parse_match("network_src_port_id=client,tcp_dest=80"))
    with pytest.raises(FailedPrecondition) as err:
        render_vnffg("g", VnffgSpec((PathSpec("p", hops, (web,)),)), {"p": 5}, inv)
    assert err.value.field == "vnffg[g].p.hops[1]" and "does not route (a bump in the wire)" in err.value.message
    assert "on its host compute2 (some are on compute1)" in err.value.message
    out = render_vnffg("g", spec("fw,spread", "network_src_port_id=client,tcp_dest=80"), {"p": 5}, inv)
    assert check_document(build_document(inv.switches, [out]))  # a router on two hosts: each proxies its own
    spread_wire = vnf("swire", "compute2", "compute3", aware=False)
    spread_wire = replace(spread_wire, vdus=tuple(replace(d, cps=(*d.cps, replace(
        d.cps[1], name="CP3", ovs_port=f"swire{d.instance}o", mac=f"02:00:00:00:9{d.instance}:03"))) for d in spread_wire.vdus))
    inv = replace(inv, vnfs={**inv.vnfs, "swire": spread_wire})
    hops = (HopSpec(("fw",)), HopSpec(("swire",), "CP2", "", False, "CP3"))
    with pytest.raises(FailedPrecondition) as err:
        render_vnffg("g", VnffgSpec((PathSpec("p", hops, (web,)),)), {"p": 5}, inv)
    assert err.value.field == "vnffg[g].p.hops[1]"
    assert "does not route (a bump in the wire) and has instances on several hosts (compute2, compute3)" \
        in err.value.message and "give it network_dst_port_id, or pin the VNFs to one host" in err.value.message
    to_server = classifier_spec("web", parse_match("network_src_port_id=client,network_dst_port_id=server,tcp_dest=80"))
    out = render_vnffg("g", VnffgSpec((PathSpec("p", hops, (to_server,)),)), {"p": 5}, inv)
    doc = check_document(build_document(inv.switches, [out]))  # with a destination it ends there
    assert all(c.destination is not None for p in doc.paths for c in p.classifiers)


def test_a_raw_port_name_needs_one_switch_and_unknown_switches_are_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        render_vnffg("g", spec("fw,ids", "network_src_port_id=tap0,tcp_dest=80"), {"p": 5}, INV)
    assert "host it is on is unknown" in err.value.message
    gone = replace(INV, switches={k: v for k, v in SWITCHES.items() if k != "compute2"})
    with pytest.raises(FailedPrecondition, match="switch compute2 belongs to no registered VIM"):
        render_vnffg("g", spec("fw", "network_src_port_id=client,tcp_dest=80"), {"p": 5}, gone)


def test_the_nfvo_renders_onto_the_switches_its_vims_hosts_report(stack) -> None:
    """Through the service: VnffgManager asks the VNFM for its hosts (``VnfManager.hosts``); a
    single-host VIM's host names its bridge, the dpid is the registered VIM's, the rest the host's."""
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    stack.vim.host_specs = (ComputeHostInfo("compute1", True, 64, 1 << 34, 1 << 40, switch=BRIDGE, bridge=BRIDGE,
                                            ovsdb="unix:/run/c1/db.sock", tunnel_ports=("vxvl",)),)
    want = Switch(BRIDGE, DPID, "unix:/run/c1/db.sock", tunnel_ports=("vxvl",))
    assert nfvo.vnffgs.switches() == {BRIDGE: want}
    nfvo.create_vnf("fw", "fw")
    assert nfvo.create_vnffg("c", chain="fw").status == "ACTIVE"
    assert stack.controller.document.switches == (want,)


def test_a_path_with_an_unaware_hop_is_classified_on_every_overlay_host() -> None:
    """Tacker's one-armed routers on an overlay stack: a port-less classifier puts the path on every
    host, as for aware hops; what the router sends back is re-classified on its host."""
    out = render_vnffg("g", spec("bump", "tcp_dest=80"), {"p": 5}, INV)
    assert [(c.name, c.switch, c.in_port) for c in out.paths[0].classifiers] == [
        (f"g/p/web@{h}", h, "") for h in HOSTS]
    out = render_vnffg("g", spec("bump", "network_name=data,tcp_dest=80"), {"p": 5}, INV)
    assert {c.switch for c in out.paths[0].classifiers} == set(HOSTS)
    doc = check_document(build_document(INV.switches, [out]))
    ports = {0xC0 + n: {"gpe0": 10, **{c.in_port: 20 + i for i, c in enumerate(out.paths[0].classifiers)},
                        "bump0d": 4} for n in (1, 2, 3)}
    assert compute_switch_states(doc, ports)


def test_a_destination_cp_becomes_the_classifier_destination_and_the_path_ends_on_its_host() -> None:
    """network_dst_port_id = peer (compute3), fw on compute2, classified at the client (compute1):
    the forward path ends on compute3, out of peer's port; the reverse at the client's CP."""
    out = render_vnffg("g", spec("fw", "network_src_port_id=client,network_dst_port_id=peer,tcp_dest=80",
                                 symmetrical=True), {"p": 5, "p~reverse": 6}, INV)
    fwd, rev = out.paths
    assert [c.destination for c in fwd.classifiers] == [Destination("peer0d", "compute3")]
    assert [c.destination for c in rev.classifiers] == [Destination("client0d", "compute1")]
    doc = check_document(build_document(INV.switches, [out]))
    ports = {0xC0 + n: {"gpe0": 10, "client0d": 1, "peer0d": 2, "fw0d": 3} for n in (1, 2, 3)}
    states = compute_switch_states(doc, ports)
    ends = {d: {spi for spi in (5, 6) for f in s.flows if f.cookie == make_cookie(Role.EGRESS, spi)}
            for d, s in states.items()}
    assert ends == {0xC1: {6}, 0xC2: set(), 0xC3: {5}}


def test_a_destination_the_overlay_cannot_reach_is_left_to_normal() -> None:
    """Everything on compute1 but the destination on a switch off the overlay: no destination (the
    path stays on one switch; NORMAL delivers over the VL as before)."""
    lone = {**SWITCHES, "lone": Switch("lone", 0x99)}
    far = vnf("far", "lone")
    inv = Inventory({**VNFS, "far": far, "near": vnf("near", "compute1")}, lone)
    out = render_vnffg("g", spec("near", "network_src_port_id=client,network_dst_port_id=far,tcp_dest=80"), {"p": 5}, inv)
    assert [c.destination for c in out.paths[0].classifiers] == [None]
    check_document(build_document(inv.switches, [out]))
