"""rlvr.trl called exactly as TRL's GRPOTrainer._calculate_rewards calls a reward function:
reward_func(prompts=..., completions=..., completion_ids=..., **reward_kwargs), where reward_kwargs
holds every dataset column but prompt/completion/completion_ids, plus trainer_state, log_extra and
log_metric (trl/trainer/grpo_trainer.py)."""

import logging

import rlvr.trl as rt


def trl_call(reward_func, inputs, prompts, completions, completion_ids):
    # The body of GRPOTrainer._calculate_rewards for a synchronous function.
    keys = [key for key in inputs[0] if key not in ["prompt", "completion", "completion_ids"]]
    reward_kwargs = {key: [example[key] for example in inputs] for key in keys}
    reward_kwargs["trainer_state"] = object()
    logged = {}
    reward_kwargs["log_extra"] = lambda column, values: logged.__setitem__(column, values)
    reward_kwargs["log_metric"] = lambda name, value: None
    out = reward_func(prompts=prompts, completions=completions, completion_ids=completion_ids, **reward_kwargs)
    return out, logged


def test_trl_docstring_examples():
    solutions = [r"\frac{1}{3}", r"\frac{1}{3}"]
    completions = [
        [{"role": "assistant", "content": r"My answer is \boxed{\frac{1}{3}}"}],
        [{"role": "assistant", "content": r"My answer is \boxed{\frac{1}{2}}"}],
    ]
    assert rt.accuracy_reward(completions, solutions) == [1.0, 0.0]
    completions = [
        [{"content": "<think>\nThis is my reasoning.\n</think>\nThis is my answer."}],
        [{"content": "<think>\nThis is my reasoning.\nThis is my answer."}],
    ]
    assert rt.think_format_reward(completions) == [1.0, 0.0]


def test_standard_and_conversational_completions_and_text_blocks():
    inputs = [{"prompt": "p", "solution": "4"}] * 4
    completions = [
        "so \\boxed{4}",
        [{"role": "assistant", "content": "so \\boxed{4}"}],
        [{"role": "assistant", "content": [{"type": "text", "text": "so \\box"}, {"type": "image"}, {"type": "text", "text": "ed{4}"}]}],
        [{"role": "assistant", "content": "so \\boxed{5}"}],
    ]
    out, logged = trl_call(rt.accuracy_reward, inputs, ["p"] * 4, completions, [[1, 2]] * 4)
    assert out == [1.0, 1.0, 1.0, 0.0]
    assert logged["verdict"] == ["correct", "correct", "correct", "incorrect"]


def test_unjudgeable_gold_is_none_and_logged_once(caplog):
    inputs = [{"prompt": "p", "solution": "\\frac{"}] * 3
    with caplog.at_level(logging.WARNING, logger="rlvr.trl"):
        out, _ = trl_call(rt.accuracy_reward, inputs, ["p"] * 3, ["\\boxed{1}"] * 3, [[1]] * 3)
        trl_call(rt.accuracy_reward, inputs, ["p"] * 3, ["\\boxed{1}"] * 3, [[1]] * 3)
    assert out == [None, None, None]
    messages = [r.getMessage() for r in caplog.records if "could not be judged" in r.getMessage()]
    assert len(messages) == 1 and "invalid gold" in messages[0]


def test_reward_function_with_a_recipe_and_dataset_columns():
    reward = rt.RewardFunction(recipe="r1-math", answer_column="answer")
    assert reward.__name__ == "rlvr_r1_math"
    inputs = [{"prompt": "q", "answer": "7", "level": 3}] * 2
    completions = ["<think>\nadd\n</think>\n\\boxed{7}", "\\boxed{7}"]
    out, logged = trl_call(reward, inputs, ["q", "q"], completions, [[0] * 5, [0] * 2])
    assert out == [2.0, 1.0]
    assert logged["rlvr_r1_math_verdict"] == ["correct", "correct"]


def test_reward_function_errors_name_the_problem():
    import pytest

    with pytest.raises(ValueError, match="unknown recipe"):
        rt.RewardFunction(recipe="nope")
    reward = rt.RewardFunction(answer_column="solution")
    with pytest.raises(ValueError, match="no column `solution`"):
        reward(prompts=["p"], completions=["x"], completion_ids=[[1]], answer=["1"])


def test_think_format_matches_trl_except_the_two_documented_cases():
    import re

    pattern = r"^<think>(?!.*<think>)(.*?)</think>.*$"
    cases = [
        "<think>\nr\n</think>\na",
        "<think>r</think>",
        "no tags",
        "<think>a<think>b</think></think>",
        "<think>never closed",
        "answer first <think>r</think>",
    ]
    trl = [1.0 if re.match(pattern, c, re.DOTALL | re.MULTILINE) else 0.0 for c in cases]
    assert rt.think_format_reward([[{"content": c}] for c in cases]) == trl
    # The deliberate differences (see rlvr.trl.think_format_reward).
    assert rt.think_format_reward(["  <think>r</think>a"]) == [1.0]
    assert rt.think_format_reward(["<think>r</think>a</think>"]) == [0.0]
