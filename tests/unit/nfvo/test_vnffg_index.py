"""The VNFFG manager answers from an in-memory index instead of walking the store per request:
it must say exactly what the store says, through every kind of change and across a restart."""

from __future__ import annotations

import json

import pytest

from nfvo.errors import AlreadyExists
from nfvo.model import VnffgRecord
from nfvo.vnffg.spec import classifier_spec, parse_match
from nfvo.vnffg.manager import KIND, VnffgIndex
from tests.unit.nfvo.conftest import make_stack, onboard_demo


def _plain(index: VnffgIndex) -> dict:
    """The index as JSON-able values (records as stored)."""
    return {"records": [json.loads(json.dumps(r.to_dict())) for r in index.ordered], "ids": index.ids,
            "classifiers": index.classifiers, "spis": index.spis}


def assert_coherent(nfvo) -> None:
    stored = VnffgIndex.of(VnffgRecord.from_dict(b) for b in nfvo.store.list(KIND))
    assert _plain(nfvo.vnffgs._index()) == _plain(stored)
    assert [r.name for r in nfvo.vnffgs.list()] == [r.name for r in stored.ordered]
    for name in stored.classifiers:
        record, path, clf = nfvo.vnffgs.classifier(name)
        assert clf.name == name and clf in path.classifiers and path in record.spec.paths


def test_index_follows_every_change_and_a_restart(stack, tmp_path):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.create_vnf("fw1", "fw")
    nfvo.create_vnf("cnt1", "counter")
    nfvo.create_vnffg("a", chain="fw1,cnt1")
    nfvo.create_vnffg("b", chain="cnt1", symmetrical=True, wait=False)  # background push
    assert_coherent(nfvo)
    nfvo.create_classifier("web", "a", "tcp_dst=80")
    nfvo.create_classifier("dns", "b", "udp_dst=53", wait=False)
    assert_coherent(nfvo)
    with pytest.raises(AlreadyExists, match="classifier 'web'"):
        nfvo.create_classifier("web", "b", "tcp_dst=81")
    nfvo.vnffgs.change_classifier("web", classifier_spec("web", parse_match("tcp_dst=8080")))
    assert nfvo.vnffgs.classifier("web")[2].match == (("tcp_dst", 8080),)
    nfvo.update_vnffg("a", chain="cnt1,fw1")
    assert_coherent(nfvo)
    nfvo.vnffgs.change_classifier("dns", None)  # removed: the name is free again, for any chain
    nfvo.create_classifier("dns", "a", "udp_dst=5353")
    assert_coherent(nfvo)
    spis_of_b = dict(nfvo.vnffgs.get("b").spis)
    nfvo.delete_vnffg("b")
    assert_coherent(nfvo)
    c = nfvo.create_vnffg("c", chain="fw1")  # b's SPIs are free again
    assert dict(c.spis)["path"] == min(spis_of_b.values())
    nfvo.heal_vnf("fw1")  # re-renders a and c
    assert_coherent(nfvo)
    before = _plain(nfvo.vnffgs._index())
    stack.vnfm.close()
    again = make_stack(tmp_path, store_url=stack.store_url, vim=stack.vim, driver=stack.driver,
                       controller=stack.controller, sdn_address=stack.sdn_address)
    again.nfvo.start()
    assert_coherent(again.nfvo)
    after = _plain(again.nfvo.vnffgs._index())
    assert [r["name"] for r in after["records"]] == [r["name"] for r in before["records"]]
    assert after["classifiers"] == before["classifiers"] and after["spis"] == before["spis"]
    again.vnfm.close()
