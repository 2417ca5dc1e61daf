"""The pure reconciliation decision (nfvo.intents): which interrupted operations roll forward,
which roll back, and what rolling back removes."""

from __future__ import annotations

from nfvo.intents import BACK, FORWARD, Facts, Intent, decide, decide_all


def intent(op: str, name: str, step: str = "started", created: float = 1.0, **payload) -> Intent:
    return Intent(f"i-{op}-{name}", op, name, step, created, payload)


NS = {"vnfs": ["web-fw", "web-cnt"], "vnffgs": ["web-g1"], "record": {"id": "ns1", "name": "web"}}


def test_vnf_create_keeps_an_active_vnf_and_terminates_any_other():
    assert decide(intent("vnf-create", "a", "instantiated"), Facts({"a": "ACTIVE"}, {})).verdict == FORWARD
    back = decide(intent("vnf-create", "a", "started"), Facts({"a": "ERROR"}, {}))
    assert (back.verdict, back.terminate_vnfs) == (BACK, ("a",)) and "ERROR" in back.reason
    assert decide(intent("vnf-create", "a"), Facts({"a": "PENDING_CREATE"}, {})).terminate_vnfs == ("a",)
    nothing = decide(intent("vnf-create", "a"), Facts({}, {}))
    assert (nothing.verdict, nothing.terminate_vnfs) == (BACK, ())


def test_vnffg_create_forward_when_stored_else_back_with_nothing_to_delete():
    """The controller needs no action: the start hands it the whole document of stored rows."""
    stored = decide(intent("vnffg-create", "A", "pending"), Facts({}, {"A": 5.0}))
    assert stored.verdict == FORWARD and stored.delete_vnffgs == ()
    lost = decide(intent("vnffg-create", "A", "committed"), Facts({}, {}))
    assert lost.verdict == BACK and lost.delete_vnffgs == () and "committed" in lost.reason


def test_vnffg_update_forward_only_if_the_row_holds_that_update():
    assert decide(intent("vnffg-update", "A", "stored", updated_at=7.0), Facts({}, {"A": 7.0})).verdict == FORWARD
    assert decide(intent("vnffg-update", "A", "committed", updated_at=7.0), Facts({}, {"A": 3.0})).verdict == BACK
    assert decide(intent("vnffg-update", "A", updated_at=7.0), Facts({}, {})).verdict == BACK


def test_vnffg_delete_always_finishes():
    half = decide(intent("vnffg-delete", "A", "committed"), Facts({}, {"A": 1.0}))
    assert (half.verdict, half.delete_vnffgs) == (FORWARD, ("A",))
    assert decide(intent("vnffg-delete", "A"), Facts({}, {})).delete_vnffgs == ()


def test_ns_create_rolls_back_what_it_made_newest_first():
    half = decide(intent("ns-create", "web", "vnf", **NS), Facts({"web-fw": "ACTIVE", "other": "ACTIVE"}, {}))
    assert (half.verdict, half.terminate_vnfs, half.delete_vnffgs, half.write_ns) == (BACK, ("web-fw",), (), None)
    more = decide(intent("ns-create", "web", "vnffg", **NS),
                  Facts({"web-fw": "ACTIVE", "web-cnt": "ERROR"}, {"web-g1": 1.0, "x": 2.0}))
    assert (more.terminate_vnfs, more.delete_vnffgs) == (("web-cnt", "web-fw"), ("web-g1",))
    assert "VNFFG web-g1, VNF web-cnt, VNF web-fw" in more.reason


def test_ns_create_forward_when_everything_is_there_or_the_row_is():
    full = Facts({"web-fw": "ACTIVE", "web-cnt": "ACTIVE"}, {"web-g1": 1.0})
    done = decide(intent("ns-create", "web", "vnffg", **NS), full)
    assert done.verdict == FORWARD and done.write_ns == NS["record"] and not done.terminate_vnfs
    kept = decide(intent("ns-create", "web", "stored", **NS), Facts({}, {}, frozenset({"web"})))
    assert kept.verdict == FORWARD and kept.write_ns is None


def test_nested_intents_see_what_the_older_ones_left():
    """A crash inside an NS create's VNFFG create leaves both: the NS is rolled back first, so the
    VNFFG's own intent finds no row (back, nothing left to do) instead of keeping it."""
    facts = Facts({"web-fw": "ACTIVE", "web-cnt": "ACTIVE"}, {"web-g1": 1.0})
    ns = intent("ns-create", "web", "vnf", created=1.0, **{**NS, "record": None})
    graph = intent("vnffg-create", "web-g1", "stored", created=2.0)
    first, second = decide_all([graph, ns], facts)
    assert first.intent is ns and first.verdict == BACK and first.delete_vnffgs == ("web-g1",)
    assert second.intent is graph and second.verdict == BACK


def test_intent_round_trips_through_its_stored_body():
    it = intent("ns-create", "web", "vnf", **NS)
    assert Intent.from_dict(it.to_dict()) == it and it.kind == "NS"


def test_ns_delete_always_finishes_what_is_left():
    half = decide(intent("ns-delete", "web", "vnffg", **NS), Facts({"web-cnt": "ACTIVE"}, {}, frozenset({"web"})))
    assert (half.verdict, half.terminate_vnfs, half.delete_vnffgs, half.delete_ns) == (FORWARD, ("web-cnt",), (), True)
