"""rlvr.verl called as verl's reward managers call it: NaiveRewardManager calls
compute_score(data_source=, solution_str=, ground_truth=, extra_info=) per item (and reads `score`
from a dict); BatchRewardManager calls compute_score(data_sources=, solution_strs=, ground_truths=,
extra_infos=, **reward_kwargs) (verl/workers/reward_manager/naive.py, batch.py)."""

import json

import pytest

import rlvr
import rlvr.verl as rv


def test_naive_manager_call_math():
    score = rv.compute_score(data_source="openai/gsm8k", solution_str="... #### so \\boxed{72}", ground_truth="72", extra_info={"index": 0})
    assert score == {"score": 1.0, "acc": True, "pred": "72", "verdict": "correct"}
    score = rv.compute_score(data_source="lighteval/MATH", solution_str="\\boxed{0.5}", ground_truth="\\frac{1}{2}")
    assert score["score"] == 1.0
    assert rv.compute_score("math_dapo", "no answer here", "34")["verdict"] == "no_answer"


def test_batch_manager_call_is_one_batch_in_order():
    kwargs = {}
    n = 50
    scores = rv.compute_score_batched(
        data_sources=["math"] * n,
        solution_strs=[f"\\boxed{{{i}}}" for i in range(n)],
        ground_truths=[str(i if i % 2 else i + 1) for i in range(n)],
        extra_infos=[{"index": i} for i in range(n)],
        **kwargs,
    )
    assert [s["acc"] for s in scores] == [bool(i % 2) for i in range(n)]


def test_numpy_values_as_verl_batches_hold_them():
    np = pytest.importorskip("numpy")
    score = rv.compute_score(np.str_("math"), "\\boxed{3}", np.str_("3"), extra_info={"index": np.int64(1)})
    assert score["acc"] is True


def test_code_ground_truths_in_the_apps_layout():
    program = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    truth = json.dumps({"inputs": ["2 3\n", "10 5\n"], "outputs": ["5\n", "15\n"]})
    sample = rv.to_sample(0, "codecontests", program, truth)
    assert sample["tests"] == {"stdio": [{"input": "2 3\n", "output": "5\n"}, {"input": "10 5\n", "output": "15\n"}]}
    fn = rv.to_sample(0, "taco", "x", {"fn_name": "add", "inputs": [[1, 2]], "outputs": [[3]]})
    assert fn["tests"] == {"call": [{"args": [1, 2], "expected": 3}], "entry_point": "add"}
    score = rv.compute_score("codecontests", program, truth)
    if score["verdict"] == "error":
        pytest.skip("guest runtimes not installed")
    assert score["score"] == 1.0 and score["acc"] is True


def test_unjudgeable_scores_zero_with_the_verdict():
    score = rv.compute_score("math", "\\boxed{1}", "\\frac{")
    assert score["score"] == 0.0 and score["verdict"] == "invalid_gold"
    assert rv.compute_score("math", "\\boxed{2}", "2", recipe="r1-math")["score"] == 1.0
