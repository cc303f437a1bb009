"""rlvr/openrlhf.py loaded exactly as OpenRLHF's SingleTurnAgentExecutor loads a `--remote_rm_url`
file (importlib.util.spec_from_file_location("reward_func", path)) and called as its
_fetch_rewards_via_func calls it: reward_func(queries, prompts, labels) (openrlhf/utils/agent.py)."""

import importlib.util

import pytest

import rlvr.openrlhf


def load():
    spec = importlib.util.spec_from_file_location("reward_func", rlvr.openrlhf.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


def test_reward_func_file():
    reward_func = load()
    prompts = ["Q1: 2+5? ", "Q2: 3+5? ", "other"]
    queries = ["Q1: 2+5? \\boxed{7}", "Q2: 3+5? \\boxed{9}", "no prompt prefix: \\boxed{7}"]
    out = reward_func(queries, prompts, ["7", "8", "7"])
    # The third query does not contain its prompt: its text is not the model's, so it earns nothing.
    assert out == {"rewards": [1.0, 0.0, 0.0], "scores": [1.0, 0.0, 0.0], "extra_logs": {"correct": [1.0, 0.0, 0.0]}}


def test_left_truncated_few_shot_prompt_is_not_scored():
    """Issue 17's hack: OpenRLHF left-truncates a long few-shot prompt, so the query no longer begins
    with it; the prompt's own \\boxed{3} must not earn the reward for the response "I give up."."""
    reward_func = load()
    shots = "".join(f"Example {k}: what is 1+2? The answer is \\boxed{{3}}.\n" for k in range(8))
    prompt = shots + "Now: what is 1+2? Answer:"
    query = prompt[40:] + " I give up."
    out = reward_func([query], [prompt], ["3"])
    assert out["rewards"] == [0.0]
    # Re-spaced and special-token-decorated, the response is still found and judged.
    query = prompt.replace("\n", " \n")[25:] + "<|im_end|> \\boxed{3}"
    assert reward_func([query], [prompt], ["3"])["rewards"] == [1.0]


def test_response_rule_is_the_servers():
    from rlvr._rlvr import openrlhf_response

    assert openrlhf_response("PROMPT answer", "PROMPT ") == "answer"
    with pytest.raises(ValueError, match="could not be found"):
        openrlhf_response("other text", "PROMPT ")
    assert openrlhf_response("text", None) == "text"
