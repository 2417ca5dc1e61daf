"""Where Tacker's sample corpus is: ``../shared`` beside the clone (CI and developers), else
/work/shared. A missing corpus fails the tests that need it; it is never skipped quietly."""

from pathlib import Path

SHARED = next((p for p in (Path(__file__).resolve().parents[1].parent / "shared", Path("/work/shared")) if p.is_dir()),
              Path("/work/shared"))
TACKER_SAMPLES = SHARED / "corpus/tacker/samples/tosca-templates"
