#!/usr/bin/env python3
"""Runs Math-Verify 0.9.0's own test suite (`tests/` of its PyPI sdist) twice: against Math-Verify
itself and against `rlvr.math_verify` (every `math_verify` import answered by the shim), and
prints how many tests pass with each.

    python python/math_verify_suite.py SDIST.tar.gz [--json OUT]

The sdist's SHA-256 is checked against the pin below before anything is unpacked. `.ci/test`
downloads it from PyPI with `pip download --no-binary :all: --no-deps math-verify==0.9.0`.
"""

import argparse
import hashlib
import json
import pathlib
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET

SDIST_SHA256 = "45ac6c61344ba056b9e99a660a4bc8d044ed408f730aed68c60435aa5eec4645"

SHIM_CONFTEST = '''
import sys
import rlvr.math_verify as shim
shim.parser = shim
shim.grader = shim
sys.modules["math_verify"] = shim
sys.modules["math_verify.parser"] = shim
sys.modules["math_verify.grader"] = shim
'''


def run(root: pathlib.Path, label: str) -> dict:
    xml = root / f"{label}.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", str(xml), "tests"],
        cwd=root, capture_output=True, text=True,
    )
    outcomes = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        outcomes[name] = "skipped" if skipped else ("failed" if failed else "passed")
    return outcomes


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sdist")
    ap.add_argument("--json")
    args = ap.parse_args()
    data = pathlib.Path(args.sdist).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SDIST_SHA256:
        print(f"math_verify_suite: {args.sdist} has SHA-256 {digest}, expected {SDIST_SHA256}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        with tarfile.open(args.sdist) as tar:
            members = [m for m in tar.getmembers() if "/tests/" in m.name and m.isfile()]
            for m in members:
                target = tmp / "reference" / "tests" / pathlib.Path(m.name).name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(m).read())
        (tmp / "reference" / "tests" / "__init__.py").touch()
        shim_root = tmp / "shim"
        shim_root.mkdir()
        (shim_root / "tests").mkdir()
        for f in (tmp / "reference" / "tests").iterdir():
            (shim_root / "tests" / f.name).write_bytes(f.read_bytes())
        (shim_root / "conftest.py").write_text(SHIM_CONFTEST)
        reference = run(tmp / "reference", "reference")
        shim = run(shim_root, "shim")
    names = sorted(set(reference) | set(shim))
    count = lambda outcomes: sum(1 for n in names if outcomes.get(n) == "passed")
    both = sum(1 for n in names if reference.get(n) == "passed" and shim.get(n) == "passed")
    summary = {
        "tests": len(names),
        "pass_math_verify": count(reference),
        "pass_rlvr_shim": count(shim),
        "pass_both": both,
        "shim_failures": sorted(n for n in names if shim.get(n) != "passed"),
    }
    print(f"Math-Verify 0.9.0 test suite ({len(names)} tests): Math-Verify passes {summary['pass_math_verify']}, "
          f"rlvr.math_verify passes {summary['pass_rlvr_shim']} ({both} pass with both)")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
