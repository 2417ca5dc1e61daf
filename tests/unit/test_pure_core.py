"""The functional core imports no adapter library: with grpc, SQLAlchemy, os-ken, pyroute2 and
ovs unimportable, every core module still imports (a fresh interpreter, so nothing is cached)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ADAPTERS = ("grpc", "sqlalchemy", "os_ken", "pyroute2", "ovs")
CORE = (
    "descriptors.acl", "descriptors.vnfd", "descriptors.vnffgd", "descriptors.nsd",
    "sdn.document", "sdn.match", "sdn.openflow", "sdn.render", "sdn.sync", "sdn.pipeline", "sdn.cookie",
    "sdn.docmodel", "sdn.telemetry.observe",
    "sdn.balance", "sdn.rebalance", "sdn.usable", "sdn.pathstatus", "nfvo.vnffg.status",
    "vnfm.lifecycle", "vnfm.spec", "vnfm.scheduler", "vnfm.evacuation", "vnfm.alarms", "descriptors.alarming",
    "vnfm.model", "vnfm.codec",
    "nfvo.model", "nfvo.vnffg.render", "nfvo.vnffg.hops", "nfvo.vnffg.spec", "nfvo.vnffg.spi", "nfvo.vnffg.sffs",
    "sdn.statecodec", "sdn.telemetry.loss",
    "nfvo.intents", "nfvo.nsplan", "nfvo.reconcile", "vnfm.faults",
    "nfvo.catalog", "nfvo.vnffg.manager", "nfvo.service", "vnfm.images", "vnfm.imagetar",
    "sdn.telemetry.drops", "sdn.telemetry.frames", "sdn.telemetry.sflow", "sdn.telemetry.elements",
    "sdn.telemetry.templates", "sdn.telemetry.layout", "sdn.telemetry.ipfix", "sdn.telemetry.netflow9",
    "sdn.telemetry.observation",
    "sdn.telemetry.catalogue", "sdn.telemetry.attribution", "sdn.telemetry.figures", "vnfm.vim.oci", "vnfm.vim.firstboot",
    "vnfm.vim.star",
    "dataplane.underlay", "dataplane.nshcontext", "sdn.overlay", "sdn.spread", "sdn.topology", "sdn.steering",
    "nfvo.supervision",
)
ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import importlib, importlib.abc, sys

    BLOCKED = {blocked!r}

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is an adapter library, not for the pure core")
            return None

    sys.meta_path.insert(0, Refuse())
    failed = []
    for module in sys.argv[1:]:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            failed.append(f"{{module}}: {{exc}}")
    print("\\n".join(failed))
    sys.exit(1 if failed else 0)
""").format(blocked=ADAPTERS)


def probe(module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE, module], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60)


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_adapter(module: str) -> None:
    result = probe(module)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("adapter", ["nfvo.sqlstore", "vnfm.sqlstore", "nfvo.api.server"])
def test_the_probe_refuses_adapters(adapter: str) -> None:
    """Guards the guard: a module that does import an adapter library fails the probe."""
    result = probe(adapter)
    assert result.returncode == 1 and "adapter library" in result.stdout, result.stdout + result.stderr
