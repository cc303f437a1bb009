"""rlvr/openrlhf.py loaded exactly as OpenRLHF's SingleTurnAgentExecutor loads a `--remote_rm_url`
file (importlib.util.spec_from_file_location("reward_func", path)) and called as its
_fetch_rewards_via_func calls it: reward_func(queries, prompts, labels) (openrlhf/utils/agent.py)."""

import importlib.util

import rlvr.openrlhf


def load():
    spec = importlib.util.spec_from_file_location("reward_func", rlvr.openrlhf.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


def test_reward_func_file():
    reward_func = load()
    prompts = ["Q1: 2+5? ", "Q2: 3+5? ", "other"]
    queries = ["Q1: 2+5? \\boxed{7}", "Q2: 3+5? \\boxed{9}", "no prompt prefix: 7"]
    out = reward_func(queries, prompts, ["7", "8", "7"])
    assert out == {"rewards": [1.0, 0.0, 1.0], "scores": [1.0, 0.0, 1.0], "extra_logs": {"correct": [1.0, 0.0, 1.0]}}


def test_response_rule_is_the_servers():
    from rlvr._rlvr import openrlhf_response

    assert openrlhf_response("PROMPT answer", "PROMPT ") == "answer"
    assert openrlhf_response("other text", "PROMPT ") == "other text"
    assert openrlhf_response("text", None) == "text"
