"""Each alarm reads its metric over its own granularity (Aodh's period): the runner hands the
window to the source, a chain/hop figure is taken over it, and a rate read twice in one tick
(two alarms, two periods) is the same figure, not a second reading over no time."""

from __future__ import annotations

from pathlib import Path

import pytest

from descriptors import load_vnfd
from nfvo.monitoring import chain_metric
from sdn.telemetry.figures import Count, HopFigures, Loss, PathFigures, ChainFigures, Snapshot, Source
from tests.unit.vnfm.test_alarms import FakeHost
from vnfm import metrics as vnfm_metrics
from vnfm.alarmrunner import AlarmRunner
from vnfm.images import ImageCatalog
from vnfm.metrics import CgroupSource, Metrics, Subject, UnavailableSource
from vnfm.spec import compile_spec

SAMPLES = Path("/work/shared/corpus/tacker/samples/tosca-templates/vnfd")


class Windows:
    """A cpu_util source that notes the window each reading was asked over."""

    metrics = frozenset({"cpu_util"})

    def __init__(self) -> None:
        self.asked: list[float] = []

    def read(self, metric: str, subject: Subject, now: float, window: float) -> float | None:
        self.asked.append(window)
        return 90.0 if window < 10 else 5.0


def test_the_runner_reads_each_alarm_over_its_own_granularity() -> None:
    text = (SAMPLES / "tosca-vnfd-alarm-scale.yaml").read_text()
    text = text.replace("granularity: 60", "granularity: 2", 1).replace("granularity: 60", "granularity: 30", 1)
    spec = compile_spec(load_vnfd(text), ImageCatalog())
    assert sorted(a.granularity for a in spec.alarms) == [2.0, 30.0]
    host, src = FakeHost(spec), Windows()
    runner = AlarmRunner(host, Metrics(src, UnavailableSource()))
    for i in range(9):
        runner.step(1000.0 + i)
    assert set(src.asked) == {2.0, 30.0} and src.asked.count(2.0) == src.asked.count(30.0)   # both, every tick
    by = {v.spec.granularity: v for v in runner.views()}
    assert by[2.0].status.value == 90.0 and by[2.0].status.state != "insufficient data"


def test_a_cpu_rate_read_twice_in_a_tick_is_the_same_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    used = iter([10.0, 10.5, 11.0])
    calls: list[int] = []

    def cpu_seconds(pid: int, proc: Path = Path("/proc")) -> float:
        calls.append(pid)
        return next(used)

    monkeypatch.setattr(vnfm_metrics, "cpu_seconds", cpu_seconds)
    src, subject = CgroupSource(), Subject("k0", 42)
    assert src.read("cpu_util", subject, 100.0, 2.0) is None               # the baseline
    assert src.read("cpu_util", subject, 101.0, 2.0) == pytest.approx(50.0)
    assert src.read("cpu_util", subject, 101.0, 30.0) == pytest.approx(50.0)   # another alarm, same tick
    assert len(calls) == 2
    assert src.read("cpu_util", subject, 102.0, 2.0) == pytest.approx(50.0)


def _snapshot(loss: Loss | None, window: float = 4.0) -> Snapshot:
    into = Count(400, 40_000, None, Source.PROBE)
    hop = HopFigures(255, "cnt:CP2", into, Count(300, 30_000, None, Source.PROBE), loss)
    path = PathFigures(1, "c/p", "c", "p", into, into, (hop,))
    return Snapshot(1000.0, window, (ChainFigures("c", (path,), 400, 40_000, None, True),))


def test_hop_figures_as_alarm_samples() -> None:
    assert chain_metric("hop.loss", _snapshot(Loss(100, 0.25, True)), {"cnt:CP2"}) == 0.25
    assert chain_metric("chain.packets_rate", _snapshot(None, window=4.0), {"cnt:CP2"}) == 100.0   # over the window
    assert chain_metric("hop.loss", _snapshot(Loss(100, 0.25, True)), {"other"}) is None
    assert chain_metric("hop.loss", _snapshot(None), {"cnt:CP2"}) is None                # nothing went in
    # an estimate: a sample only if it is tight enough to say something of the threshold
    assert chain_metric("hop.loss", _snapshot(Loss(100, 0.25, False, margin=0.2)), {"cnt:CP2"}) is None
    assert chain_metric("hop.loss", _snapshot(Loss(100, 0.25, False, margin=0.03)), {"cnt:CP2"}) == 0.25
