#!/usr/bin/env python3
"""Checks Math-Verify 0.9.0's own tests (PyPI sdist) against our corpus; converts any missing case.

The corpus file `math/math_verify_tests.jsonl` was converted from the Math-Verify repository at
commit 5d148cf. The issue asks for the tests shipped in the sdist `math-verify==0.9.0`, so this
script reads that sdist's `tests/` (after checking its SHA-256), collects every parametrized case
statically (Python's `ast`, nothing from the sdist is imported or run, except the one f-string
gold `f"{math.sqrt(17):.15f}"`, evaluated with only `math` in scope), and compares them with the
corpus files. Cases the corpus lacks are written to `math/math_verify_0_9_0_tests.jsonl` in the
same format (`id`, `answer`, `completion`, `expected`, `source`, and a `note` naming the
extraction config the test used). Test functions that are not data (mocks, direct SymPy calls)
are listed with where the corpus covers them.

Usage (from the repository root):
    python3 testdata/corpus/math_verify_sdist.py [--sdist PATH/math_verify-0.9.0.tar.gz]
Without --sdist it runs `pip download --no-deps --no-binary :all: math-verify==0.9.0`.
Exit status: 0 when the check ran (whether or not it wrote cases), 2 on a hash mismatch or error.
"""

import argparse
import ast
import collections
import hashlib
import json
import math
import pathlib
import subprocess
import sys
import tarfile
import tempfile

SDIST = "math_verify-0.9.0.tar.gz"
SDIST_SHA256 = "45ac6c61344ba056b9e99a660a4bc8d044ed408f730aed68c60435aa5eec4645"
SOURCE = "pypi:math-verify==0.9.0 (sdist):tests/{file}"
HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "math" / "math_verify_tests.jsonl"
STRINGS = HERE / "math" / "math_verify_string_extraction.jsonl"
OUT = HERE / "math" / "math_verify_0_9_0_tests.jsonl"

# compare_strings(match_types=...) -> the parse() extraction config it builds (tests/test_all.py).
CONFIGS = {
    "latex": "LatexExtractionConfig(boxed_match_priority=0)",
    "expr": "ExprExtractionConfig()",
}

# Test functions that carry no (gold, pred, expected) table, and where the corpus has them.
NOT_TABULAR = {
    "test_precision": "direct sympy_expr_eq calls and one compare_strings: math_verify_tests/275..279",
    "test_boxed_match_priority": "math_verify_string_extraction.jsonl lines 8-10",
    "test_normalization_config": "math_verify_string_extraction.jsonl lines 11-12",
    "test_gamma_as_function": "math_verify_string_extraction.jsonl line 13",
    "test_gamma_as_constant": "math_verify_string_extraction.jsonl line 14",
    "test_verify_raise_on_error": "mocks sympy_expr_eq to raise: behaviour of verify(), no data",
    "test_timeout_expr": "mocks a 5 s parser to test parsing_timeout: no data",
    "test_timeout_latex": "mocks a 5 s parser to test parsing_timeout: no data",
    "test_timeout_verify": "mocks a 5 s comparison to test timeout_seconds: no data",
}


def sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def fetch(dest: pathlib.Path) -> pathlib.Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "math-verify==0.9.0", "-d", str(dest)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return dest / SDIST


def literal(node: ast.AST):
    """A literal value; the one f-string gold is evaluated with only `math` in scope."""
    if isinstance(node, ast.JoinedStr):
        return eval(compile(ast.Expression(node), "<sdist f-string>", "eval"), {"__builtins__": {}, "math": math})
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(literal(e) for e in node.elts)
    return ast.literal_eval(node)


def compare_call(fn: ast.FunctionDef) -> dict:
    """The keyword arguments of the compare_strings(...) call in a test body."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "compare_strings":
            return {k.arg: k.value for k in node.keywords}
    return {}


def note_for(file: str, fn: ast.FunctionDef, params: dict) -> str:
    kw = compare_call(fn)
    if kw:
        types = literal(kw["match_types"]) if "match_types" in kw else ("latex", "expr")
        configs = ", ".join(CONFIGS[t] for t in types)

        def arg(name, default):
            if name in params:
                return params[name]
            if name in kw:
                node = kw[name]
                return params.get(node.id, default) if isinstance(node, ast.Name) else literal(node)
            return default

        verify = (f"verify(float_rounding={arg('precision', 6)}, strict={arg('strict', True)}, "
                  f"allow_set_relation_comp={arg('allow_set_relation_comp', False)})")
        parse = f"parse(gold|pred, [{configs}]) with parse defaults (fallback_mode=first_match, extraction_mode=any_match)"
        return f"compare_strings: {parse}; {verify}; test={file}::{fn.name}"
    return f"verify(parse(gold), parse(pred)) with all defaults; test={file}::{fn.name}"


def sdist_cases(tar: tarfile.TarFile):
    """Yields (file, function, line, params) for every parametrized case, and the other test names."""
    tabular, others = [], []
    for member in sorted(tar.getmembers(), key=lambda m: m.name):
        path = pathlib.PurePosixPath(member.name)
        if len(path.parts) != 3 or path.parts[1] != "tests" or not path.name.startswith("test_"):
            continue
        source = tar.extractfile(member).read().decode()
        for fn in ast.parse(source).body:
            if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test_"):
                continue
            tables = [d for d in fn.decorator_list
                      if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "parametrize"]
            if not tables:
                others.append((path.name, fn.name))
            for dec in tables:
                names = [n.strip() for n in literal(dec.args[0]).split(",")]
                for elt in dec.args[1].elts:
                    if names[:1] == ["pred"]:  # test_string_extraction: (input, expected, config-call)
                        values = [literal(elt.elts[0]), ast.get_source_segment(source, elt.elts[1]),
                                  ast.get_source_segment(source, elt.elts[2])]
                    else:
                        values = literal(elt)
                    tabular.append((path.name, fn, elt.lineno, dict(zip(names, values))))
    return tabular, others


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sdist", type=pathlib.Path, help=f"path to {SDIST} (default: pip download it)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or fetch(pathlib.Path(tmp))
        digest = sha256(sdist)
        if digest != SDIST_SHA256:
            print(f"{sdist}: SHA-256 {digest}, expected {SDIST_SHA256}", file=sys.stderr)
            return 2
        print(f"{sdist.name}: SHA-256 {digest} (matches)")
        with tarfile.open(sdist) as tar:
            tabular, others = sdist_cases(tar)

    have = collections.Counter()
    for line in CORPUS.read_text().splitlines():
        case = json.loads(line)
        have[(case["answer"], case["completion"], case["expected"])] += 1
    strings = collections.Counter(json.loads(l)["input"] for l in STRINGS.read_text().splitlines())

    missing = []
    for file, fn, lineno, params in tabular:
        if "gold" in params:
            expected = bool(params.get("expected", params.get("result")))
            key = (params["gold"], params["pred"], expected)
            if have[key] > 0:
                have[key] -= 1
                continue
            missing.append({
                "answer": params["gold"], "completion": params["pred"], "expected": expected,
                "source": SOURCE.format(file=file),
                "note": f"{note_for(file, fn, params)} (line {lineno})",
            })
        elif strings[params["pred"]] > 0:
            strings[params["pred"]] -= 1
        else:
            print(f"not in {STRINGS.name}: {file}:{lineno} parse({params['pred']!r}, [{params['config']}])"
                  f" == {params['expected']}  (convert it by hand: its format differs)")
    print(f"{len(tabular)} parametrized cases in the sdist's tests/, {len(missing)} missing from the corpus")
    for file, name in others:
        print(f"  {file}::{name}: {NOT_TABULAR.get(name, 'NOT CLASSIFIED: look at it')}")
    if missing:
        with OUT.open("w") as out:
            for i, case in enumerate(missing):
                out.write(json.dumps({"id": f"math_verify_0_9_0_tests/{i}", **case}, ensure_ascii=False) + "\n")
        print(f"wrote {len(missing)} cases to {OUT.relative_to(HERE.parent.parent)}")
    elif OUT.exists():
        print(f"{OUT.name} exists but nothing is missing now: delete it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
