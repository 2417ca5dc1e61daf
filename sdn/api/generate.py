"""Regenerate the committed gRPC code: ``python -m sdn.api.generate`` (a test checks freshness)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ["sdn/api/v1/sfc.proto"]


def generate(out_dir: Path = ROOT, protos: list[str] = PROTOS) -> None:
    """Run protoc (from grpcio-tools) on ``protos`` (paths relative to the repository root)."""
    from grpc_tools import protoc

    for proto in protos:
        code = protoc.main(["protoc", f"-I{ROOT}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
                            f"--grpc_python_out={out_dir}", str(ROOT / proto)])
        if code != 0:
            raise SystemExit(f"protoc failed on {proto}")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
