"""rlvr.Engine, rlvr.verify and rlvr.check: the `rlvr score` contract, errors, limits, threads."""

import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

import rlvr

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAIRS = ROOT / "benches" / "data" / "math500_pairs.jsonl"
CASES = pathlib.Path(__file__).resolve().parent / "data"


def pairs(limit=None):
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"id": r["id"], "completion": r["completion"], "answer": r["answer"]} for r in rows[:limit]]


def test_version_and_exports():
    assert rlvr.__version__ == "0.1.0"
    assert issubclass(rlvr.RlvrError, ValueError)
    assert "math" in rlvr.recipes() and "code" in rlvr.recipes()


def test_verify_and_check():
    assert rlvr.verify("\\frac{1}{2}", "so the answer is $\\boxed{0.5}$") is True
    assert rlvr.verify("4", "\\boxed{5}") is False
    check = rlvr.check("4", "The answer is 5")
    assert set(check) == {"verdict", "extracted", "gold_parsed", "pred_parsed", "reason"}
    assert (check["verdict"], check["extracted"]) == ("incorrect", "5")
    assert check["reason"]
    assert rlvr.check("\\frac{", "1")["verdict"] == "invalid_gold"


def test_one_result_per_sample_in_order_with_malformed_samples_as_errors():
    samples = [
        {"id": "a", "completion": "\\boxed{4}", "answer": "4"},
        "not a dict",
        {"id": "b", "answer": "4"},  # no completion
        {"id": "c", "completion": 7, "answer": "4"},  # wrong type
        {"id": "d", "completion": "\\boxed{1}", "answer": "4", "meta": {1, 2}},  # a set has no JSON form
        {"id": "e", "completion": "x", "answer": float("nan")},
        {"id": "f", "completion": "\\boxed{1}", "answer": "4"},
        {"id": 10**30, "completion": "\\boxed{4}", "answer": 4},
    ]
    out = rlvr.Engine().score(samples)
    assert [o["id"] for o in out] == ["a", None, "b", "c", "d", "e", "f", 1e30]
    assert [o["verdict"] for o in out] == ["correct", "error", "error", "error", "error", "error", "incorrect", "correct"]
    assert "JSON object" in out[1]["error"]
    assert "missing required field `completion`" in out[2]["error"]
    assert "`completion` must be a string" in out[3]["error"]
    assert "`meta` is a Python `set`" in out[4]["error"]
    assert "`answer` is NaN" in out[5]["error"]
    assert set(out[0]) == {"id", "reward", "correct", "verdict", "components", "extracted", "error"}
    assert out[0]["components"] == {"accuracy": {"score": 1.0, "weight": 1.0}}


def test_same_results_as_the_rlvr_score_command():
    binary = os.environ.get("RLVR_BIN")
    if not binary:
        pytest.skip("RLVR_BIN (the rlvr binary .ci/test built) is not set")
    batch = pairs(200)
    lines = [json.dumps(s) for s in batch] + ["{not json", '{"id": 9, "completion": 1}', "[1]"]
    cli = subprocess.run([binary, "score"], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    samples = batch + [None, {"id": 9, "completion": 1}, [1]]
    got = rlvr.Engine().score(samples)
    assert len(got) == len(expected)
    for g, e in zip(got[:200], expected[:200]):
        assert g == e
    assert [o["verdict"] for o in got[200:]] == ["error"] * 3
    assert got[201]["error"] == expected[201]["error"]


def test_big_integers_stay_exact():
    out = rlvr.Engine().score([{"completion": "\\boxed{123456789012345678901234567890}", "answer": 123456789012345678901234567890}])
    assert out[0]["verdict"] == "correct"
    out = rlvr.Engine().score([{"completion": "\\boxed{123456789012345678901234567891}", "answer": 123456789012345678901234567890}])
    assert out[0]["verdict"] == "incorrect"


def test_value_depth_limit_pair():
    def nested(depth):
        value = 1
        for _ in range(depth):
            value = [value]
        return value

    at = nested(rlvr.MAX_VALUE_DEPTH - 1)  # the sample dict is level 0, `meta` level 1
    past = nested(rlvr.MAX_VALUE_DEPTH)
    out = rlvr.Engine().score([
        {"id": 0, "completion": "\\boxed{1}", "answer": "1", "meta": at},
        {"id": 1, "completion": "\\boxed{1}", "answer": "1", "meta": past},
    ])
    assert out[0]["verdict"] == "correct"
    assert out[1]["verdict"] == "error" and "deeper than 128" in out[1]["error"]


def test_limits_boundary_pair_and_unknown_limit():
    engine = rlvr.Engine(limits={"max_answer_bytes": 8})
    out = engine.score([
        {"completion": "\\boxed{12345678}", "answer": "12345678"},
        {"completion": "\\boxed{123456789}", "answer": "123456789"},
    ])
    assert out[0]["verdict"] == "correct"
    assert out[1]["verdict"] == "invalid_gold" and "exceeds `max_answer_bytes`: 9 > 8" in out[1]["error"]
    with pytest.raises(rlvr.RlvrError, match="max_answr_bytes"):
        rlvr.Engine(limits={"max_answr_bytes": 8})
    with pytest.raises(rlvr.RlvrError, match="non-negative integer"):
        rlvr.Engine(limits={"max_depth": -1})
    rlvr.Engine(limits={"fuel": 1000, "wall_ms": 500})


def test_engine_errors_are_python_exceptions_with_the_engine_message(tmp_path):
    with pytest.raises(rlvr.RlvrError, match="unknown recipe `nope`"):
        rlvr.Engine(default_recipe="nope")
    with pytest.raises(rlvr.RlvrError, match="threads must be at least 1"):
        rlvr.Engine(threads=0)
    with pytest.raises(rlvr.RlvrError):
        rlvr.Engine(recipes=tmp_path / "missing")
    (tmp_path / "bad.toml").write_text('name = "bad"\ndescription = "d"\nverifier = "math"\n[[component]]\nname = "no_such_component"\n')
    with pytest.raises(rlvr.RlvrError, match="no_such_component"):
        rlvr.Engine(recipes=tmp_path)
    with pytest.raises(TypeError):
        rlvr.Engine().score("a string")
    assert rlvr.Engine().score([{"completion": "x", "answer": "1", "recipe": "nope"}])[0]["error"] == "unknown recipe `nope`"


def test_extra_recipes_directory(tmp_path):
    (tmp_path / "double.toml").write_text(
        'name = "double"\ndescription = "accuracy twice"\nverifier = "math"\n[[component]]\nname = "accuracy"\nweight = 2.0\n'
    )
    engine = rlvr.Engine(recipes=str(tmp_path), threads=2)
    assert "double" in engine.recipes() and engine.threads == 2
    out = engine.score([{"completion": "\\boxed{3}", "answer": "3", "recipe": "double"}])
    assert out[0]["reward"] == 2.0


def test_eight_python_threads_equal_one_serial_run():
    batch = pairs(300)
    engine = rlvr.Engine()
    serial = engine.score(batch)
    results = [None] * 8

    def run(k):
        results[k] = engine.score(batch)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == serial for r in results)


def test_the_gil_is_released_while_scoring():
    batch = pairs() * 20  # 20,000 samples: long enough to watch
    engine = rlvr.Engine(threads=1)
    done = threading.Event()
    ticks = 0

    def score():
        engine.score(batch)
        done.set()

    worker = threading.Thread(target=score)
    start = time.perf_counter()
    worker.start()
    while not done.is_set():
        ticks += 1  # runs only while the scoring thread does not hold the GIL
        time.sleep(0.001)
    worker.join()
    elapsed = time.perf_counter() - start
    assert elapsed > 0.05, "the batch was too quick to observe"
    assert ticks > 10, f"the main thread ran {ticks} times in {elapsed:.2f} s"


def test_no_signal_handlers_are_installed():
    import signal

    before = {s: signal.getsignal(s) for s in (signal.SIGALRM, signal.SIGINT, signal.SIGTERM)}
    rlvr.Engine().score(pairs(50))
    rlvr.verify("1", "1")
    assert {s: signal.getsignal(s) for s in before} == before


CODE = {"id": 0, "completion": "```python\na, b = map(int, input().split())\nprint(a + b)\n```", "tests": {"stdio": [{"input": "2 3\n", "output": "5\n"}]}}


def test_code_samples_run_in_the_sandbox():
    out = rlvr.Engine().score([CODE, dict(CODE, id=1, completion="```python\nprint(6)\n```")])
    if out[0]["verdict"] == "error" and rlvr.INSTALL_COMMAND in (out[0]["error"] or ""):
        pytest.skip(f"the guest runtimes are not installed ({out[0]['error']})")
    assert [o["verdict"] for o in out] == ["correct", "incorrect"]


def test_missing_runtimes_name_the_install_command(tmp_path):
    script = f"import json, rlvr; print(json.dumps(rlvr.Engine().score([{CODE!r}])[0]))"
    env = dict(os.environ, RLVR_RUNTIMES=str(tmp_path))
    out = json.loads(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout)
    assert out["verdict"] == "error"
    assert rlvr.INSTALL_COMMAND in out["error"]
