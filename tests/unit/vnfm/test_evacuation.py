"""The evacuation plan of a failed host (pure): which VNFs and instances move, which unpin, which wait."""

from __future__ import annotations

from vnfm.evacuation import describe, plan_evacuation
from vnfm.model import Status, VduRecord, VnfRecord


def vdu(name: str, host: str, instance: int = 0) -> VduRecord:
    return VduRecord(name, instance, f"ns-{name}{instance}", "img", 1, (), None, key=f"k{name}{instance}", host=host)


def vnf(name: str, status: str, *vdus: VduRecord) -> VnfRecord:
    return VnfRecord(f"id-{name}", name, "vnfd", status, "", tuple(vdus), 0.0, None)


def test_only_instances_on_the_failed_host_move_and_pins_to_it_are_given_up() -> None:
    vnfs = [vnf("web", Status.ACTIVE, vdu("VDU1", "compute2"), vdu("VDU1", "compute3", 1), vdu("VDU2", "compute2")),
            vnf("fw", Status.DEAD, vdu("VDU1", "compute2")),
            vnf("client", Status.ACTIVE, vdu("VDU1", "compute1"))]
    zones = {"id-web": {"VDU1": None, "VDU2": "compute2"}, "id-fw": {"VDU1": "compute3"}}
    plan = plan_evacuation("compute2", vnfs, zones)
    assert [(e.vnf_name, e.instances, e.unpin) for e in plan.evacuees] == [
        ("fw", (("VDU1", 0),), ()), ("web", (("VDU1", 0), ("VDU2", 0)), ("VDU2",))]
    assert plan.skipped == () and not plan.empty
    assert describe(plan) == "evacuating compute2: fw (VDU1); web (VDU1, VDU2)"


def test_a_busy_vnf_is_skipped_naming_its_status_and_an_idle_host_plans_nothing() -> None:
    vnfs = [vnf("scaling", Status.PENDING_SCALE_OUT, vdu("VDU1", "compute2"), vdu("VDU1", "compute2", 1))]
    plan = plan_evacuation("compute2", vnfs, {})
    assert plan.empty and plan.skipped == (("scaling", "status PENDING_SCALE_OUT: another operation is under way"),)
    assert "skipped: scaling (status PENDING_SCALE_OUT" in describe(plan)
    assert plan_evacuation("compute3", vnfs, {}).empty
    assert plan_evacuation("compute2", [vnf("x", Status.ACTIVE, vdu("VDU1", "compute2", 2))], {}).evacuees[0].labels == (
        "VDU1#2",)
