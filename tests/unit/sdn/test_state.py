"""The state file's fast path: it gives exactly what the slow path (parse, check, render) gives,
and anything stale, damaged or of another version falls back to the slow path."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from sdn.api.convert import document_message
from sdn.api.v1 import sfc_pb2 as pb
from sdn.controller import SfcController
from sdn.docfile import load_document
from sdn.document import DocumentError, SfcDocument, with_paths
from sdn.match import compile_match
from sdn.render import FlowCache, compute_owned_states, merge
from sdn.state import _HEAD, MAGIC, SavedRender, StateWriter, load_saved, load_state, save_state
from tests.unit.sdn.fake_driver import FakeDriver
from tests.unit.sdn.test_flows import EVERY_FIELD_DOC, EVERY_FIELD_PORTS

ROUTED_DOC = """
switches: [{name: s1, dpid: 1, ovsdb: "unix:/run/x/db.sock"}]
probes: {ipfix_targets: ["127.0.0.1:4739"], probability: 4095}
service_functions:
  - {name: fw, instances: [{switch: s1, port: fw0}, {switch: s1, port: fw1, weight: 0}]}
  - name: router
    nsh_aware: false
    instances: [{switch: s1, port: r0, mac: "02:00:00:00:00:aa"}]
service_function_paths:
  - name: routed
    spi: 3
    hops: [fw, router]
    classifiers:
      - {name: web, in_port: client, match: {ip_dst: 192.0.2.0/24, tcp_dst: 443}, priority: 200}
      - {name: v6, match: {ipv6_nd_target: "2001:db8::7", icmpv6_type: 135}}
  - {name: plain, spi: 4, hops: [fw], classifiers: [{name: dns, in_port: client, match: {udp_dst: 53}}]}
"""
ROUTED_PORTS = {1: {"client": 1, "fw0": 2, "fw1": 3, "r0": 4}}
CASES = [(EVERY_FIELD_DOC, EVERY_FIELD_PORTS), (ROUTED_DOC, ROUTED_PORTS)]


def saved(tmp_path: Path, text: str, ports: dict, generation: int = 5) -> tuple[Path, SfcDocument, dict]:
    doc = load_document(text)
    renders = {dpid: SavedRender(p, owned) for dpid, owned in compute_owned_states(doc, ports).items()
               for p in [ports[dpid]]}
    path = tmp_path / "state.pb"
    save_state(path, doc, generation, renders)
    return path, doc, renders


def write_v1(path: Path, doc: SfcDocument, generation: int) -> None:
    """What the controller wrote before version 2: the bare protobuf."""
    path.write_bytes(pb.PersistedState(generation=generation, document=document_message(doc)).SerializeToString())


def rendered(doc: SfcDocument, ports: dict) -> dict:
    return compute_owned_states(doc, ports, FlowCache())


@pytest.mark.parametrize(("text", "ports"), CASES)
def test_fast_path_gives_what_the_slow_path_gives(tmp_path, text, ports):
    path, doc, renders = saved(tmp_path, text, ports)
    fast = load_saved(path)
    assert fast.fast and fast.generation == 5
    old = tmp_path / "v1.pb"
    write_v1(old, doc, 5)
    slow = load_saved(old)
    assert not slow.fast and slow.generation == 5
    assert fast.document == slow.document == doc
    for a, b in zip((c for p in fast.document.paths for c in p.classifiers),
                    (c for p in slow.document.paths for c in p.classifiers), strict=True):
        assert "matches" in a.__dict__, "compiled matches come from the file, not compiled again"
        assert a.matches == b.matches == tuple(compile_match(a.match))
    # the flows: rendered from either document, and as saved, all alike
    assert rendered(fast.document, ports) == rendered(slow.document, ports)
    assert {d: r.owned for d, r in fast.renders.items()} == rendered(slow.document, ports) \
        == {d: r.owned for d, r in renders.items()}
    assert {d: dict(r.ports) for d, r in fast.renders.items()} == ports
    assert load_state(path) == (doc, 5)


def damage(path: Path, where: int) -> None:
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_damaged_cache_section_is_checked_the_slow_way(tmp_path):
    path, doc, _ = saved(tmp_path, EVERY_FIELD_DOC, EVERY_FIELD_PORTS)
    damage(path, len(path.read_bytes()) - 10)
    got = load_saved(path)
    assert not got.fast and got.document == doc and got.generation == 5 and not got.renders


def test_a_cache_section_of_other_code_is_checked_the_slow_way(tmp_path, monkeypatch):
    path, doc, _ = saved(tmp_path, EVERY_FIELD_DOC, EVERY_FIELD_PORTS)
    import sdn.state
    monkeypatch.setattr(sdn.state, "code_fingerprint", lambda: "an upgraded controller")
    got = load_saved(path)
    assert not got.fast and got.document == doc and not got.renders


def test_another_version_is_checked_the_slow_way(tmp_path):
    path, doc, _ = saved(tmp_path, EVERY_FIELD_DOC, EVERY_FIELD_PORTS)
    data = bytearray(path.read_bytes())
    data[8:12] = (99).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    got = load_saved(path)
    assert not got.fast and got.document == doc


def test_a_version_1_file_is_checked_whole(tmp_path):
    """The slow path really checks: a bare protobuf holding an inconsistent document is refused."""
    path = tmp_path / "state.pb"
    doc = load_document(EVERY_FIELD_DOC)
    bad = SfcDocument(doc.switches, doc.service_functions, doc.paths + doc.paths[:1])  # a duplicate path
    write_v1(path, bad, 3)
    with pytest.raises(DocumentError, match="not a controller state file"):
        load_saved(path)


def test_a_damaged_document_section_is_refused(tmp_path):
    path, _, _ = saved(tmp_path, EVERY_FIELD_DOC, EVERY_FIELD_PORTS)
    damage(path, _HEAD.size + 20)
    with pytest.raises(DocumentError, match="does not match its checksum"):
        load_saved(path)


def test_a_cache_section_naming_another_generation_is_not_used(tmp_path):
    """The document section is the authority: a cache section that disagrees with it is ignored."""
    path, doc, renders = saved(tmp_path, EVERY_FIELD_DOC, EVERY_FIELD_PORTS, generation=5)
    cache = path.read_bytes()[_HEAD.size + _HEAD.unpack_from(path.read_bytes())[3] + 32:]
    proto = pb.PersistedState(generation=6, document=document_message(doc)).SerializeToString()
    path.write_bytes(_HEAD.pack(MAGIC, 2, hashlib.sha256(proto).digest(), len(proto)) + proto
                     + hashlib.sha256(cache).digest() + cache)
    got = load_saved(path)
    assert not got.fast and got.generation == 6 and got.document == doc


@pytest.mark.parametrize(("text", "ports"), CASES)
def test_the_document_section_is_the_persisted_state_message(tmp_path, text, ports):
    path, doc, _ = saved(tmp_path, text, ports, generation=9)
    length = _HEAD.unpack_from(path.read_bytes())[3]
    section = path.read_bytes()[_HEAD.size:_HEAD.size + length]
    assert pb.PersistedState.FromString(section) == pb.PersistedState(generation=9, document=document_message(doc))


def test_saving_again_encodes_only_what_changed(tmp_path, monkeypatch):
    import sdn.state
    doc = load_document(EVERY_FIELD_DOC)
    owned = rendered(doc, EVERY_FIELD_PORTS)[1]
    writer, path = StateWriter(), tmp_path / "state.pb"
    save_state(path, doc, 1, {1: SavedRender(EVERY_FIELD_PORTS[1], owned)}, writer)
    calls = []
    real_path, real_state, real_proto = sdn.state.encode_path, sdn.state.encode_state, sdn.state.path_message
    monkeypatch.setattr(sdn.state, "encode_path", lambda p: calls.append(p.name) or real_path(p))
    monkeypatch.setattr(sdn.state, "encode_state", lambda s: calls.append("part") or real_state(s))
    monkeypatch.setattr(sdn.state, "path_message", lambda p: calls.append(f"{p.name} message") or real_proto(p))
    save_state(path, doc, 2, {1: SavedRender(EVERY_FIELD_PORTS[1], owned)}, writer)
    assert calls == []
    changed = replace(doc.paths[0], spi=99)
    doc2 = with_paths(doc, [changed])
    save_state(path, doc2, 3, {}, writer)
    assert calls == ["every-field message", "every-field"]  # the changed path only
    got = load_saved(path)
    assert got.fast and got.document == doc2 and got.generation == 3


def test_restarted_controller_reuses_saved_flows_and_still_fixes_the_switch(tmp_path):
    """A restart from a fast file converges on exactly the document: it re-installs nothing that is
    right, puts back what was changed on the switch, and renders anew when the ports changed."""
    driver, state = FakeDriver(), tmp_path / "state.pb"
    first = SfcController(driver, state_file=state)
    driver.connect(1, EVERY_FIELD_PORTS[1])
    first.apply_document(load_document(EVERY_FIELD_DOC))
    first.stop()
    driver.callbacks.clear()
    want = driver.tables[1]
    assert load_saved(state).fast

    second = SfcController(driver, state_file=state)
    applied = len(driver.applied)
    driver.connect(1, EVERY_FIELD_PORTS[1], keep=True)
    assert second.settle()
    assert len(driver.applied) == applied, "nothing re-installed"
    assert second._targets()[1].owned == rendered(second.document, EVERY_FIELD_PORTS)[1]
    second.stop()
    driver.callbacks.clear()

    wrong = next(iter(want.flows))  # the switch lost a flow while no controller ran
    driver.tables[1] = type(want)(want.flows - {wrong}, want.groups)
    third = SfcController(driver, state_file=state)
    driver.connect(1, EVERY_FIELD_PORTS[1], keep=True)
    assert third.settle()
    assert driver.tables[1] == want and driver.applied[-1][1].add_flows == (wrong,)
    third.stop()
    driver.callbacks.clear()

    moved = {**EVERY_FIELD_PORTS[1], "fw0": 40}  # a port renumbered: the saved flows do not apply
    fourth = SfcController(driver, state_file=state)
    driver.connect(1, moved, keep=True)
    assert fourth.settle()
    assert fourth._targets()[1].owned == rendered(fourth.document, {1: moved})[1]
    assert driver.tables[1] == merge(rendered(fourth.document, {1: moved})[1]) != want
    fourth.stop()
