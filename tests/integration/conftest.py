"""Fixtures for integration tests: a real private OVS, bridges and hosts in namespaces.

Every integration module sets ``pytestmark = pytest.mark.integration``. Without root these tests
are skipped with a loud reason (CI runs as root, so there they run and are the proof).

Fixtures
  ovs             session: a started ``OvsInstance`` in a unique temp run dir
  ovsdb           session: an ``Ovsdb`` connected to it
  lab             function: a ``dataplane.lab.Lab`` whose objects are removed at teardown
  bridge_factory  function: ``(**ensure_bridge kwargs) -> bridge name`` (netdev, deleted after)
  host_factory    function: ``(bridge, ip, prefixlen=None, *, mac=None, mtu=1600,
                  ofport_request=None, gateway=None) -> Host`` (namespace + veth, tx csum off)
  sf_factory      function: ``(host, kind, *args) -> Popen`` running ``python -m dataplane.sf``
An autouse check fails any test that leaves a namespace, link or child process behind.
"""

from __future__ import annotations

import os
import signal
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dataplane import netns
from dataplane.lab import Host, Lab, new_prefix
from dataplane.ovs import OvsInstance
from dataplane.ovsdb import Ovsdb

NOT_ROOT = (
    "INTEGRATION TESTS SKIPPED: they need root (network namespaces, veths, Open vSwitch). "
    "Run as root (CI does) to get the real proof."
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason=NOT_ROOT)
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str | None:
    return None if os.geteuid() == 0 else "!!! " + NOT_ROOT


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """Short unique prefix of every namespace/link/bridge this session creates."""
    return new_prefix()


@pytest.fixture(scope="session")
def ovs(run_prefix: str) -> Iterator[OvsInstance]:
    if os.geteuid() != 0:
        pytest.skip(NOT_ROOT)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{run_prefix}-ovs-"))
    inst = OvsInstance(run_dir)
    inst.start()
    try:
        yield inst
    finally:
        inst.stop()
        if not os.environ.get("NFV_KEEP_RUN_DIR"):
            shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ovsdb(ovs: OvsInstance) -> Iterator[Ovsdb]:
    db = Ovsdb(ovs.db_sock)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def lab(ovs: OvsInstance, ovsdb: Ovsdb, run_prefix: str) -> Iterator[Lab]:
    the_lab = Lab(ovs, ovsdb, prefix=run_prefix)
    the_lab._count = _next_block()
    try:
        yield the_lab
    finally:
        the_lab.cleanup()


_block = [0]


def _next_block() -> int:
    """Start each test's counter in a fresh block so names never repeat within a session."""
    _block[0] += 100
    return _block[0] % 1000


@pytest.fixture
def bridge_factory(lab: Lab) -> Callable[..., str]:
    return lab.bridge


@pytest.fixture
def host_factory(lab: Lab) -> Callable[..., Host]:
    return lab.host


@pytest.fixture
def sf_factory(lab: Lab) -> Callable[..., Any]:
    return lab.sf


_allowed_kids: set[int] = set()


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: Any) -> Iterator[None]:
    """Processes started by session/module fixtures (OVS, a controller) are not test leaks."""
    yield
    if fixturedef.scope != "function" and os.geteuid() == 0:
        _allowed_kids.update(_children())


def _children() -> set[int]:
    me, kids = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z":
            kids.add(int(entry))
    return kids


def _ours(prefix: str) -> tuple[set[str], set[str]]:
    return ({n for n in netns.list_netns() if n.startswith(prefix)},
            {n for n in netns.list_links() if n.startswith(prefix)})


@pytest.fixture(autouse=True)
def _leak_check(request: pytest.FixtureRequest, run_prefix: str) -> Iterator[None]:
    """Fail a test that leaves a namespace, link (with our prefix) or child process behind."""
    if os.geteuid() != 0:
        yield
        return
    before_ns, before_links = _ours(run_prefix)
    before_kids = _children()
    yield
    after_ns, after_links = _ours(run_prefix)
    leaked_kids = _children() - before_kids - _allowed_kids
    leaks = {"namespaces": sorted(after_ns - before_ns), "links": sorted(after_links - before_links),
             "processes": sorted(leaked_kids)}
    if any(leaks.values()):
        for ns in leaks["namespaces"]:
            netns.delete_netns(ns)
        for link in leaks["links"]:
            netns.delete_link(link)
        for pid in leaks["processes"]:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        pytest.fail(f"test leaked {leaks}")
