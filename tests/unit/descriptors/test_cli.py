"""``nfv descriptor validate``: per-file verdicts, exit status 0 only when all are OK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nfvo.cli.main import main
from tests.unit.descriptors.conftest import CORPUS, SAMPLES


def test_validate_all_own_samples(capsys):
    files = [str(p) for p in sorted(SAMPLES.glob("*.yaml"))]
    assert main(["descriptor", "validate", *files]) == 0
    out = capsys.readouterr().out
    assert "OK    VNFFGD demo-chain" in out and "2 path" in out
    assert out.count("OK ") == len(files)


def test_validate_corpus_nsd_with_sibling_vnfds_and_params(capsys):
    rc = main(["descriptor", "validate", str(CORPUS / "nsd/sample-tosca-nsd.yaml"),
               "--param-file", str(CORPUS / "nsd/ns_param.yaml")])
    assert rc == 0
    assert "2 VNF (sample-tosca-vnfd1, sample-tosca-vnfd2)" in capsys.readouterr().out


def test_validate_nsd_with_named_vnfds(capsys):
    rc = main(["descriptor", "validate", str(CORPUS / "vnffg-nsd/tosca-multiple-vnffg-nsd.yaml"),
               "--vnfd", f"sample-vnfd1={CORPUS / 'vnffg-nsd/tosca-vnfd1-sample.yaml'}",
               "--vnfd", f"sample-vnfd2={CORPUS / 'vnffg-nsd/tosca-vnfd2-sample.yaml'}",
               "--param-file", str(CORPUS / "vnffg-nsd/ns_param.yaml")])
    assert rc == 0 and "2 VNFFG" in capsys.readouterr().out


def test_validate_reports_errors_per_file(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    text = (SAMPLES / "demo-chain-vnffgd.yaml").read_text().replace("80-80", "90-80")
    bad.write_text(text)
    good = CORPUS / "vnfd/tosca-vnfd-hello-world.yaml"
    assert main(["descriptor", "validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "OK    VNFD   sample-tosca-vnfd" in out
    line = text.splitlines().index("                destination_port_range: 90-80") + 1
    assert "FAIL  VNFFGD" in out and "web_path.destination_port_range" in out and f"line {line}:" in out


def test_unparseable_file(tmp_path: Path, capsys):
    bad = tmp_path / "broken.yaml"
    bad.write_text("a: [\n")
    assert main(["descriptor", "validate", str(bad)]) == 1
    assert "malformed YAML" in capsys.readouterr().out


def test_console_script():
    nfv = Path(sys.executable).with_name("nfv")
    proc = subprocess.run([str(nfv), "descriptor", "validate", str(CORPUS / "vnfd/tosca-vnfd-scale.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "2 VDU" in proc.stdout and proc.stderr == ""
