"""Prepare the runtime package's self-test inputs: a reference bundle, an image and its recorded results.

Run it from the source tree in an environment that can train (torch installed):

    python installer/prepare_selftest.py

It trains a small model with ``inspect train`` on ``assets/sample/train/good``,
copies one sample test image as ``reference.png`` and records what ONNX Runtime
and OpenVINO compute for it with ``inspect self-test --record``. The runtime spec
packs the result folder, ``build/installer-inputs/selftest``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_GOOD = REPO_ROOT / "assets" / "sample" / "train" / "good"
REFERENCE_IMAGE = REPO_ROOT / "assets" / "sample" / "test" / "crack" / "exp1_num_249594.png"
DEFAULT_OUT = REPO_ROOT / "build" / "installer-inputs" / "selftest"
# A 128 x 128 input keeps the bundle near 3 MB and training under a minute on two cores.
REFERENCE_INPUT_SIZE = "128"


def prepare(out: Path) -> int:
    """Write the bundle, image and ``expected.json`` into ``out`` (replaced) and return the exit status."""
    sys.path.insert(0, str(REPO_ROOT))
    from app.cli.main import main as inspect_main

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    bundle = out / "bundle"
    status = inspect_main(["train", str(SAMPLE_GOOD), "--out", str(bundle), "--size", REFERENCE_INPUT_SIZE])
    if status != 0:
        print(f"error: inspect train failed with status {status}", file=sys.stderr)
        return status
    shutil.copyfile(REFERENCE_IMAGE, out / "reference.png")
    arguments = ["--bundle", str(bundle), "--image", str(out / "reference.png")]
    return inspect_main(["self-test", *arguments, "--record", str(out / "expected.json")])


def main() -> int:
    """Parse the command line and prepare the self-test inputs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    return prepare(parser.parse_args().out)


if __name__ == "__main__":
    sys.exit(main())
