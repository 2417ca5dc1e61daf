"""A classifier's source and destination VNFs (network_src_port_id / network_dst_port_id) move:
the chain follows. The classifier's switch and in_port, and its destination (the port the path
ends at, ``sdn.document.Destination``), are those VNFs' CPs; an evacuation rebuilds a VNF on
another host, so its CPs move to that host's switch, and the VNF's event must re-render every
VNFFG naming it -- not only those it is a hop of (``VnffgManager.uses_vnf``).

Three overlay hosts on the fake VIM, the real VNFM (scheduler, evacuation) and the real SDN
controller logic behind its gRPC API."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nfvo.errors import FailedPrecondition
from nfvo.model import ClassifierSpec
from nfvo.vnffg.manager import _endpoints
from sdn.api.server import serve
from sdn.controller import SfcController
from sdn.document import Destination
from sdn.driver import SwitchInfo
from sdn.match import ClassifierMatch
from tests.unit.nfvo.conftest import BRIDGE, DPID, make_stack, sample
from tests.unit.sdn.fake_driver import FakeDriver
from vnfm.vim.base import ComputeHostInfo
from vnfm.vim.fake import FakeVim

HOSTS = tuple(ComputeHostInfo(f"compute{n}", True, 64, 1 << 34, 1 << 40, switch=f"compute{n}", bridge=BRIDGE,
                              dpid=0xC0 + n, host_id=n, underlay_ip=f"172.31.250.{n}", gpe_port="gpe0",
                              tunnel_ports=(f"vxl-{n}",)) for n in (1, 2, 3))


class HostSwitches(FakeDriver):
    """Each host's switch, with the ports of the servers the fake VIM placed on that host now."""

    def __init__(self, vim: FakeVim):
        super().__init__()
        self.vim = vim

    def switches(self):
        out = {}
        for h in HOSTS:
            if h.dpid in self.infos:
                ports = {"gpe0": 1, **{t: 2 for t in h.tunnel_ports}}
                for s in self.vim.servers.values():
                    if s.server.host == h.name:
                        ports.update(s.server.ofports)
                out[h.dpid] = SwitchInfo(h.dpid, ports)
        return out


@pytest.fixture
def stack(tmp_path):
    """The unit tests' whole NFVO (``conftest.make_stack``) on three overlay hosts' switches."""
    vim = FakeVim(prefix="nf", bridge=BRIDGE, host_specs=HOSTS)
    driver = HostSwitches(vim)
    for h in HOSTS:
        driver.connect(h.dpid, {})
    controller = SfcController(driver)
    server, port = serve(controller, "127.0.0.1:0")
    s = make_stack(tmp_path, vim=vim, driver=driver, controller=controller, sdn_address=f"127.0.0.1:{port}")
    yield s
    s.vnfm.close()
    server.stop(None)
    controller.stop()


def fail(stack, n: int) -> None:
    """Host ``compute{n}`` down (its OVS gone with it) and evacuated, as ``nfv host fail``."""
    stack.vim.host_specs = tuple(replace(h, up=False, reason="failed") if h.name == f"compute{n}" else h
                                 for h in stack.vim.host_specs)
    stack.driver.disconnect(HOSTS[n - 1].dpid)
    stack.vnfm.evacuate(f"compute{n}")


def recover(stack, n: int) -> None:
    """Host ``compute{n}`` up again (its OVS back); nothing moves back."""
    stack.vim.host_specs = tuple(replace(h, up=True, reason="") if h.name == f"compute{n}" else h
                                 for h in stack.vim.host_specs)
    stack.driver.connect(HOSTS[n - 1].dpid, {})


def pinned(file: str, zone: str) -> str:
    text = sample(file)
    line = next(x for x in text.splitlines() if x.startswith("        image: "))
    return text.replace(line + "\n", f"{line}\n        availability_zone: {zone}\n")


def three_hosts(stack, places: dict[str, tuple[str, str]]) -> None:
    """The fake VIM's three overlay hosts, and a VNF per ``places`` entry (sample, zone) pinned there."""
    nfvo = stack.nfvo
    nfvo.catalog.register_vim("local", bridge=BRIDGE, dpid=DPID)
    for name, (file, zone) in places.items():
        nfvo.catalog.create_descriptor("VNFD", name, pinned(file, zone))
        nfvo.create_vnf(name, name)
        assert nfvo.get_vnf(name).vdus[0].host == zone


def ends(stack) -> dict[str, tuple[str, str, Destination | None]]:
    """Each direction's one classifier: (its switch, its in_port, its destination)."""
    out = {}
    for path in ("g/path", "g/path/reverse"):
        (c,) = next(p for p in stack.controller.document.paths if p.name == path).classifiers
        out[path] = (c.switch, c.in_port, c.destination)
    return out


def where(stack, vnf: str) -> tuple[str, str]:
    """(host, OVS port) of the VNF's data CP now."""
    rec = stack.nfvo.get_vnf(vnf)
    return rec.vdus[0].host, rec.cp("CP2").ovs_port


def test_the_chain_follows_its_destination_and_source_vnfs_to_other_hosts(stack) -> None:
    nfvo = stack.nfvo
    three_hosts(stack, {"client": ("host.yaml", "compute1"), "web": ("host.yaml", "compute3"),
                        "sf": ("nsh-counter.yaml", "compute2")})
    nfvo.create_vnffg("g", chain="sf", symmetrical=True)
    nfvo.create_classifier("http", "g", "network_src_port_id=client,network_dst_port_id=web,tcp_dst=80,ip_proto=6")
    assert {n: nfvo.vnffgs.uses_vnf(n, None) for n in ("client", "web", "sf")} == {
        "client": ["g"], "web": ["g"], "sf": ["g"]}

    def follows() -> None:
        (client_host, client_port), (web_host, web_port) = where(stack, "client"), where(stack, "web")
        assert ends(stack) == {   # forward: classified at the client, ends at web; reverse the other way
            "g/path": (client_host, client_port, Destination(web_port, web_host)),
            "g/path/reverse": (web_host, web_port, Destination(client_port, client_host))}
        assert nfvo.vnffgs.get("g").status == "ACTIVE"

    assert (where(stack, "client")[0], where(stack, "web")[0]) == ("compute1", "compute3")
    follows()
    # compute3 fails: the destination VNF is rebuilt on another host (same port names and addresses)
    fail(stack, 3)
    assert where(stack, "web")[0] in ("compute1", "compute2")
    follows()
    # compute3 back, then compute1 fails: the source VNF moves (and web too, if it went to compute1)
    recover(stack, 3)
    fail(stack, 1)
    assert where(stack, "client")[0] in ("compute2", "compute3")
    follows()


def test_a_vnf_a_classifier_names_is_not_deleted_under_its_chain(stack) -> None:
    """Deleting a VNF a classifier names (where its traffic enters or goes) is refused like
    deleting a hop, naming the VNFFG, the classifier and the field: the chain would otherwise end
    at a port that no longer exists. Nothing changes."""
    nfvo = stack.nfvo
    three_hosts(stack, {"client": ("host.yaml", "compute1"), "web": ("host.yaml", "compute3"),
                        "sf": ("nsh-counter.yaml", "compute2")})
    nfvo.create_vnffg("g", chain="sf", symmetrical=True)
    nfvo.create_classifier("http", "g", "network_src_port_id=client,network_dst_port_id=web,tcp_dst=80,ip_proto=6")
    with pytest.raises(FailedPrecondition, match=r"VNF web is where traffic of VNFFG g \(classifier http: "
                                                 r"network_dst_port_id\) enters or goes; delete or update that first"):
        nfvo.delete_vnf("web")
    assert nfvo.vnfm.get("web").status == "ACTIVE" and nfvo.vnffgs.get("g").status == "ACTIVE"
    assert any(p.name.startswith("g/") for p in stack.controller.document.paths)


def test_a_classifier_names_the_vnfs_of_its_src_and_dst_ports() -> None:
    """``VNF`` or ``VNF:CP`` name that VNF; no port named, no VNF."""
    assert _endpoints(ClassifierSpec("c", (), ClassifierMatch(), "client:CP2", "web")) == {"client", "web"}
    assert _endpoints(ClassifierSpec("c", (), ClassifierMatch())) == set()


def test_a_rerender_batch_reads_the_hosts_once_and_the_next_sees_a_failure(stack, monkeypatch) -> None:
    """``Vim.hosts()`` does I/O (OVSDB, state files): a re-render of several VNFFGs reads it once
    for the batch (``VnffgManager.inventory``), not per chain or classifier; nothing keeps it
    between batches, so the one after a host fails renders without that host's switch."""
    nfvo = stack.nfvo
    three_hosts(stack, {"client": ("host.yaml", "compute1"), "web": ("host.yaml", "compute3"),
                        "sf": ("nsh-counter.yaml", "compute2")})
    for n in (1, 2):
        nfvo.create_vnffg(f"g{n}", chain="sf", symmetrical=True)
        nfvo.create_classifier(f"http{n}", f"g{n}", f"network_src_port_id=client,network_dst_port_id=web,"
                                                    f"tcp_dst={80 + n},ip_proto=6")
    vnfm = nfvo.vnffgs._vnfm
    reads: list[int] = []
    hosts = vnfm.hosts
    monkeypatch.setattr(vnfm, "hosts", lambda: reads.append(1) or hosts())
    nfvo.vnffgs.rerender(["g1", "g2"], "test")
    assert len(reads) == 1
    assert {nfvo.vnffgs.get(g).status for g in ("g1", "g2")} == {"ACTIVE"}
    fail(stack, 3)   # web is rebuilt on compute1 or compute2: the re-render that follows reads the hosts anew
    assert "compute3" not in {s.name for s in stack.controller.document.switches}
    assert {c.switch for p in stack.controller.document.paths for c in p.classifiers} <= {"compute1", "compute2"}
    assert {nfvo.vnffgs.get(g).status for g in ("g1", "g2")} == {"ACTIVE"}
