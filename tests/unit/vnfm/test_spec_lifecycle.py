from __future__ import annotations

from dataclasses import replace

import pytest

from descriptors import load_vnfd
from vnfm import lifecycle as lc
from vnfm.codec import from_json, to_json
from vnfm.errors import InvalidRequest, InvalidState
from vnfm.images import ImageCatalog, parse_size, render_argv
from vnfm.model import Network, VnfRecord, Status as S
from vnfm.monitor import CheckState, evaluate
from vnfm.spec import VnfSpec, compile_spec

from .conftest import TACKER


def test_firewall_spec(firewall):
    spec = compile_spec(firewall, ImageCatalog())
    vdu = spec.vdu("VDU1")
    assert vdu.argv and "firewall" in vdu.argv and vdu.ready == "ready"
    assert (vdu.cpus, vdu.mem_bytes) == (1, 64 * 10**6)
    assert [(c.name, c.iface, c.management, c.network) for c in vdu.cps] == [
        ("CP1", "eth0", True, "net_mgmt"), ("CP2", "eth1", False, "net_data")]
    assert vdu.monitor and vdu.monitor.driver == "ping" and vdu.monitor.action == "respawn"
    assert from_json(VnfSpec, to_json(spec)) == spec


PARAM_FILE = "tosca-vnfd-param-values.yaml"  # the parameter file for tosca-vnfd-with-params.yaml


@pytest.mark.parametrize("path", [p for p in sorted(TACKER.glob("*.yaml")) if p.name != PARAM_FILE], ids=lambda p: p.name)
def test_tacker_samples_compile(path):
    """Every Tacker sample VNFD maps onto this host (cirros/ubuntu images -> plain endpoints)."""
    vnfd = load_vnfd(path)
    if vnfd.unresolved_inputs:
        vnfd = load_vnfd(path, params=TACKER / PARAM_FILE)
    assert not vnfd.unresolved_inputs
    spec = compile_spec(vnfd, ImageCatalog())
    assert spec.vdus


def test_unknown_image_is_clear(firewall):
    bad = replace(firewall, vdus=(replace(firewall.vdus[0], image="no-such-image"),))
    with pytest.raises(InvalidRequest, match="unknown image 'no-such-image'"):
        compile_spec(bad, ImageCatalog())


def test_cp_on_unknown_vl(firewall):
    bad = replace(firewall, cps=(replace(firewall.cps[0], virtual_link="VL_nowhere"),
                                 *firewall.cps[1:]))
    with pytest.raises(InvalidRequest, match="VL_nowhere"):
        compile_spec(bad, ImageCatalog())


def test_catalog_and_sizes():
    cat = ImageCatalog().with_image("sleeper", ["/bin/sleep", "{n}"])
    assert cat.resolve("sleeper").argv == ("/bin/sleep", "{n}")
    assert cat.resolve("exec:/bin/echo 'a b'").argv == ("/bin/echo", "a b")
    assert cat.resolve("cirros-0.5.2-x86_64-disk").argv is None
    assert render_argv(("x", "{n}"), {"n": "3"}) == ("x", "3")
    with pytest.raises(InvalidRequest):
        render_argv(("{missing}",), {})
    assert parse_size("64 MB") == 64 * 10**6 and parse_size("1 GiB") == 2**30
    assert parse_size(512, default_unit="mib") == 512 * 2**20
    with pytest.raises(InvalidRequest):
        parse_size("lots")


def _rec(status=S.ACTIVE):
    return VnfRecord("id1", "v1", "d", status, "", (), 1.0, None, "000")


def test_transitions():
    rec, ev = lc.transition(_rec(S.PENDING_CREATE), S.ACTIVE, "ok", 5.0)
    assert rec.status == S.ACTIVE and (ev.old, ev.new, ev.time) == (S.PENDING_CREATE, S.ACTIVE, 5.0)
    with pytest.raises(InvalidState):
        lc.transition(_rec(S.PENDING_DELETE), S.ACTIVE, "no", 1.0)
    with pytest.raises(InvalidState):
        lc.require(_rec(S.PENDING_HEAL), "terminate", (S.ACTIVE,))


def test_names_and_allocation():
    assert lc.allocate_code(["000", "001"]) == "002"
    key = lc.server_key("nfab12v", "00z", 1, 2)
    assert key == "nfab12v00z12" and len(lc.port_name(key, 3)) == 13
    nets = lc.plan_networks(["b", "a"], {"x": Network("x", 100, "10.96.0.0/24")}, "10.96.0.0/12",
                            {"b": "192.168.7.0/24"})
    assert nets["a"] == Network("a", 101, "10.96.1.0/24")
    assert nets["b"].cidr == "192.168.7.0/24" and nets["b"].vlan == 102
    net = nets["a"]
    assert lc.allocate_ip(net, set(), None) == "10.96.1.2/24"
    assert lc.allocate_ip(net, {"10.96.1.2"}, None) == "10.96.1.3/24"
    assert lc.probe_ip(net) == "10.96.1.254"
    with pytest.raises(InvalidRequest, match="not in"):
        lc.allocate_ip(net, set(), "10.0.0.1")
    with pytest.raises(InvalidRequest, match="already used"):
        lc.allocate_ip(net, {"10.96.1.9"}, "10.96.1.9")
    mac = lc.allocate_mac("seed", set(), None)
    assert mac.startswith("fa:16:3e:") and lc.allocate_mac("seed", {mac}, None) != mac


def test_garbage():
    rec = _rec()
    assert lc.garbage("fk", {"fk00010", "fk00110", "other"}, [rec]) == ["fk00010", "fk00110"]


def test_monitor_evaluate(firewall):
    mon = compile_spec(firewall, ImageCatalog()).vdu("VDU1").monitor
    mon2 = replace(mon, retry=2)
    st, v = evaluate(mon2, CheckState(), False)
    assert v is None
    st, v = evaluate(mon2, st, False)
    assert v == "failed"
    st, v = evaluate(mon2, st, False)
    assert v is None
    st, v = evaluate(mon2, st, True)
    assert v == "recovered" and st == CheckState()
