"""The VL tunnel star as values: who the next hub is, and what re-rooting adds and removes where."""

from __future__ import annotations

import pytest

from vnfm.vim.star import StarHost, next_hub, restar, star, tunnel_name

HOSTS = [StarHost(f"compute{i}", i, f"172.31.250.{i}") for i in (1, 2, 3, 4)]
SEGMENTS = {0x2A: "net0", 7: "net1"}


def names(tunnels, host: str) -> list[str]:
    return sorted(t.name for t in tunnels if t.host == host)


def test_the_hub_moves_to_the_lowest_numbered_host_up() -> None:
    assert next_hub(HOSTS, {"compute1"}) == "compute2"
    assert next_hub(list(reversed(HOSTS)), {"compute1", "compute2"}) == "compute3"   # by number, not order
    assert next_hub(HOSTS[:2], {"compute1", "compute2"}) is None


def test_a_star_around_any_hub() -> None:
    s = star("compute2", HOSTS[:3], SEGMENTS)
    assert names(s, "compute2") == ["vl007h1", "vl007h3", "vl02ah1", "vl02ah3"]
    assert names(s, "compute1") == names(s, "compute3") == ["vl007h2", "vl02ah2"]
    t = next(t for t in s if t.host == "compute3" and t.vlan == 0x2A)
    assert (t.peer, t.remote_ip, t.network, t.name) == ("compute2", "172.31.250.2", "net0", tunnel_name(0x2A, 2))
    with pytest.raises(ValueError, match="hub 'compute9'"):
        star("compute9", HOSTS, SEGMENTS)


def test_rerooting_off_a_failed_hub_touches_only_the_hosts_that_answer() -> None:
    old = star("compute1", HOSTS[:3], SEGMENTS)
    present = {h: names(old, h) for h in ("compute2", "compute3")}     # compute1's OVS is down
    change = restar("compute2", HOSTS[:3], SEGMENTS, present)
    assert change.hub == "compute2"
    # compute2 (the new hub) keeps nothing of its spoke ports but the ones to compute1... which are
    # the same names as the hub's own to compute1 (vl<vlan>h1): kept, never deleted and made again
    assert sorted(t.name for t in change.added_on("compute2")) == ["vl007h3", "vl02ah3"]
    assert change.removed_on("compute2") == ()
    assert sorted(t.name for t in change.added_on("compute3")) == ["vl007h2", "vl02ah2"]
    assert change.removed_on("compute3") == ("vl007h1", "vl02ah1")
    assert not change.added_on("compute1") and not change.removed_on("compute1")
    # applied, the answering hosts hold exactly the new star: a repair finds nothing to do
    after = {h: sorted({*present[h], *(t.name for t in change.added_on(h))} - set(change.removed_on(h)))
             for h in present}
    again = restar("compute2", HOSTS[:3], SEGMENTS, after)
    assert again.add == () and again.remove == ()


def test_a_former_hub_back_rejoins_as_a_spoke() -> None:
    back = {"compute1": names(star("compute1", HOSTS[:3], SEGMENTS), "compute1") + ["vx0"]}
    change = restar("compute2", HOSTS[:3], SEGMENTS, back)
    assert change.add == ()                                   # its ports to compute2 are the spoke's
    assert change.removed_on("compute1") == ("vl007h3", "vl02ah3")   # the flow-based vx0 is no tunnel of the star


def test_no_segments_no_ports_and_a_single_host_has_none() -> None:
    assert restar("compute2", HOSTS, {}, {"compute2": ["vl02ah1"]}).remove == (("compute2", "vl02ah1"),)
    assert star("compute1", HOSTS[:1], SEGMENTS) == ()
