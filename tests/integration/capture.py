"""Reading captures back: tshark's dissectors (VXLAN, VXLAN-GPE, NSH) as an independent decoder."""

from __future__ import annotations

import subprocess
from pathlib import Path


def tshark(pcap: Path, display: str, *fields: str) -> list[list[str]]:
    """Rows of ``fields`` (tab-separated by tshark, one list per packet) matching ``display``."""
    argv = ["tshark", "-r", str(pcap), "-Y", display, "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]
