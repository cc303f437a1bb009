#!/usr/bin/env python3
"""Anchor implementations for rlvr's reward components, and the numbers they give on our cases.

Usage (from the repository root):

    python3 testdata/rewards/reference/anchors.py > testdata/rewards/reference/anchors_output.ndjson

For every case in testdata/rewards/*.jsonl that names an `anchor`, this prints one JSON line
`{"id", "anchor", "values"}` with the anchor's scores for the case's samples. The Rust test
`reward::tests::cases_agree_with_the_anchor_implementations` checks that each case's `expected`
equals these values, or, when the case gives `anchor_differs`, that it does not.

The functions below are copied verbatim from their sources (pinned commits named in each
section); only the imports they need are provided. The math verifier calls inside open-r1's
`len_reward` and `get_cosine_scaled_reward` (`parse`, `verify` from math_verify) are replaced by a
shim that returns each case's labelled verdict: those cases test length shaping, not the math
verifier, and rlvr's components read the verdict the same way. Pure Python 3, no dependencies.
"""

import glob
import json
import math
import os
import re
from collections.abc import Callable
from typing import Dict

# --------------------------------------------------------------------------------------------
# Shim for math_verify: the "solution" passed to the anchors is the string "CORRECT" or
# "INCORRECT" taken from the case's labelled verdict.


class LatexExtractionConfig:  # noqa: D101 - stand-in for math_verify's config object
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class NormalizationConfig:  # noqa: D101 - stand-in for latex2sympy2_extended's config object
    def __init__(self, **kwargs):
        self.kwargs = kwargs


def parse(text, **kwargs):
    return [text]


def verify(answer_parsed, gold_parsed):
    return gold_parsed[0] == "CORRECT"


# --------------------------------------------------------------------------------------------
# huggingface/open-r1, src/open_r1/rewards.py at commit 0056faa6b77d73663b353d5422a4828bc9d83218
# Copyright 2025 The HuggingFace Team. Licensed under the Apache License, Version 2.0
# (the repository's LICENSE; the file itself carries no header at this commit).


def format_reward(completions, **kwargs):
    """Reward function that checks if the reasoning process is enclosed within <think> and </think> tags, while the final answer is enclosed within <answer> and </answer> tags."""
    pattern = r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$"
    completion_contents = [completion[0]["content"] for completion in completions]
    matches = [re.match(pattern, content, re.DOTALL | re.MULTILINE) for content in completion_contents]
    return [1.0 if match else 0.0 for match in matches]


def tag_count_reward(completions, **kwargs) -> list[float]:
    """Reward function that checks if we produce the desired number of think and answer tags associated with `format_reward()`.

    Adapted from: https://gist.github.com/willccbb/4676755236bb08cab5f4e54a0475d6fb#file-grpo_demo-py-L90
    """

    def count_tags(text: str) -> float:
        count = 0.0
        if text.count("<think>\n") == 1:
            count += 0.25
        if text.count("\n</think>\n") == 1:
            count += 0.25
        if text.count("\n<answer>\n") == 1:
            count += 0.25
        if text.count("\n</answer>") == 1:
            count += 0.25
        return count

    contents = [completion[0]["content"] for completion in completions]
    return [count_tags(c) for c in contents]


def len_reward(completions: list[Dict[str, str]], solution: list[str], **kwargs) -> float:
    """Compute length-based rewards to discourage overthinking and promote token efficiency.

    Taken from the Kimi 1.5 tech report: https://arxiv.org/abs/2501.12599

    Args:
        completions: List of model completions
        solution: List of ground truth solutions

    Returns:
        List of rewards where:
        - For correct answers: reward = 0.5 - (len - min_len)/(max_len - min_len)
        - For incorrect answers: reward = min(0, 0.5 - (len - min_len)/(max_len - min_len))
    """
    contents = [completion[0]["content"] for completion in completions]

    # First check correctness of answers
    correctness = []
    for content, sol in zip(contents, solution):
        gold_parsed = parse(
            sol,
            extraction_mode="first_match",
            extraction_config=[LatexExtractionConfig()],
        )
        if len(gold_parsed) == 0:
            # Skip unparseable examples
            correctness.append(True)  # Treat as correct to avoid penalizing
            print("Failed to parse gold solution: ", sol)
            continue

        answer_parsed = parse(
            content,
            extraction_config=[
                LatexExtractionConfig(
                    normalization_config=NormalizationConfig(
                        nits=False,
                        malformed_operators=False,
                        basic_latex=True,
                        equations=True,
                        boxed=True,
                        units=True,
                    ),
                    boxed_match_priority=0,
                    try_extract_without_anchor=False,
                )
            ],
            extraction_mode="first_match",
        )
        correctness.append(verify(answer_parsed, gold_parsed))

    # Calculate lengths
    lengths = [len(content) for content in contents]
    min_len = min(lengths)
    max_len = max(lengths)

    # If all responses have the same length, return zero rewards
    if max_len == min_len:
        return [0.0] * len(completions)

    rewards = []
    for length, is_correct in zip(lengths, correctness):
        lambda_val = 0.5 - (length - min_len) / (max_len - min_len)

        if is_correct:
            reward = lambda_val
        else:
            reward = min(0, lambda_val)

        rewards.append(float(reward))

    return rewards


def get_cosine_scaled_reward(
    min_value_wrong: float = -1.0,
    max_value_wrong: float = -0.5,
    min_value_correct: float = 0.5,
    max_value_correct: float = 1.0,
    max_len: int = 1000,
):
    def cosine_scaled_reward(completions, solution, **kwargs):
        """Reward function that scales based on completion length using a cosine schedule.

        Shorter correct solutions are rewarded more than longer ones.
        Longer incorrect solutions are penalized less than shorter ones.

        Args:
            completions: List of model completions
            solution: List of ground truth solutions

        This function is parameterized by the following arguments:
            min_value_wrong: Minimum reward for wrong answers
            max_value_wrong: Maximum reward for wrong answers
            min_value_correct: Minimum reward for correct answers
            max_value_correct: Maximum reward for correct answers
            max_len: Maximum length for scaling
        """
        contents = [completion[0]["content"] for completion in completions]
        rewards = []

        for content, sol in zip(contents, solution):
            gold_parsed = parse(sol, extraction_mode="first_match", extraction_config=[LatexExtractionConfig()])
            if len(gold_parsed) == 0:
                rewards.append(1.0)  # Skip unparseable examples
                print("Failed to parse gold solution: ", sol)
                continue

            answer_parsed = parse(
                content,
                extraction_config=[
                    LatexExtractionConfig(
                        normalization_config=NormalizationConfig(
                            nits=False,
                            malformed_operators=False,
                            basic_latex=True,
                            equations=True,
                            boxed=True,
                            units=True,
                        ),
                        boxed_match_priority=0,
                        try_extract_without_anchor=False,
                    )
                ],
                extraction_mode="first_match",
            )

            is_correct = verify(answer_parsed, gold_parsed)
            gen_len = len(content)

            # Apply cosine scaling based on length
            progress = gen_len / max_len
            cosine = math.cos(progress * math.pi)

            if is_correct:
                min_value = min_value_correct
                max_value = max_value_correct
            else:
                # Swap min/max for incorrect answers
                min_value = max_value_wrong
                max_value = min_value_wrong

            reward = min_value + 0.5 * (max_value - min_value) * (1.0 + cosine)
            rewards.append(float(reward))

        return rewards

    return cosine_scaled_reward


def get_repetition_penalty_reward(ngram_size: int, max_penalty: float):
    """
    Computes N-gram repetition penalty as described in Appendix C.2 of https://arxiv.org/abs/2502.03373.
    Reference implementation from: https://github.com/eddycmu/demystify-long-cot/blob/release/openrlhf/openrlhf/reward/repetition.py

    Args:
    ngram_size: size of the n-grams
    max_penalty: Maximum (negative) penalty for wrong answers
    """
    if max_penalty > 0:
        raise ValueError(f"max_penalty {max_penalty} should not be positive")

    def zipngram(text: str, ngram_size: int):
        words = text.lower().split()
        return zip(*[words[i:] for i in range(ngram_size)])

    def repetition_penalty_reward(completions, **kwargs) -> float:
        """
        reward function the penalizes repetitions
        ref implementation: https://github.com/eddycmu/demystify-long-cot/blob/release/openrlhf/openrlhf/reward/repetition.py

        Args:
            completions: List of model completions
        """

        contents = [completion[0]["content"] for completion in completions]
        rewards = []
        for completion in contents:
            if completion == "":
                rewards.append(0.0)
                continue
            if len(completion.split()) < ngram_size:
                rewards.append(0.0)
                continue

            ngrams = set()
            total = 0
            for ng in zipngram(completion, ngram_size):
                ngrams.add(ng)
                total += 1

            scaling = 1 - len(ngrams) / total
            reward = scaling * max_penalty
            rewards.append(reward)
        return rewards

    return repetition_penalty_reward


# --------------------------------------------------------------------------------------------
# huggingface/trl, trl/rewards/format_rewards.py at commit 05dc6bd44ed8fd03cf59aa1bc028100b4e590676
# and trl/rewards/other_rewards.py at commit 01f8dc59bc8f8d1e5d6e1152b2c628ac920f56df
#
# Copyright 2020-2026 The HuggingFace Team. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.


def think_format_reward(completions: list[list[dict[str, str]]], **kwargs) -> list[float]:
    pattern = r"^<think>(?!.*<think>)(.*?)</think>.*$"
    completion_contents = [completion[0]["content"] for completion in completions]
    matches = [re.match(pattern, content, re.DOTALL | re.MULTILINE) for content in completion_contents]
    return [1.0 if match else 0.0 for match in matches]


def trl_get_repetition_penalty_reward(ngram_size: int = 3, max_penalty: float = -1.0) -> Callable:
    # Named with a trl_ prefix here only because open-r1's function of the same name is above.
    if ngram_size <= 0:
        raise ValueError(f"ngram_size must be greater than 0, got {ngram_size}")
    if max_penalty > 0:
        raise ValueError(f"max_penalty {max_penalty} should not be positive")
    return _RepetitionPenalty(ngram_size, max_penalty)


class _RepetitionPenalty:
    # Callable class rather than a closure so the reward stays picklable: the async GRPO rollout
    # worker forwards reward funcs to a spawned child process, and closures can't be pickled.
    __name__ = "repetition_penalty_reward"

    def __init__(self, ngram_size: int, max_penalty: float):
        self.ngram_size = ngram_size
        self.max_penalty = max_penalty

    def __call__(self, completion_ids: list[list[int]], **kwargs) -> list[float]:
        rewards = []
        for ids in completion_ids:
            if len(ids) < self.ngram_size:
                rewards.append(0.0)
                continue
            ngrams = list(zip(*[ids[i:] for i in range(self.ngram_size)], strict=False))
            scaling = 1 - len(set(ngrams)) / len(ngrams)
            rewards.append(scaling * self.max_penalty if scaling else 0.0)
        return rewards


def get_soft_overlong_punishment(max_completion_len: int, soft_punish_cache: int) -> Callable:
    return _SoftOverlongPunishment(max_completion_len, soft_punish_cache)


class _SoftOverlongPunishment:
    # Callable class rather than a closure so the reward stays picklable: the async GRPO rollout
    # worker forwards reward funcs to a spawned child process, and closures can't be pickled.
    # `__name__` mirrors the old inner-function name so metric logging keys are unchanged.
    __name__ = "soft_overlong_punishment_reward"

    def __init__(self, max_completion_len: int, soft_punish_cache: int):
        self.max_completion_len = max_completion_len
        self.soft_punish_cache = soft_punish_cache

    def __call__(self, completion_ids: list[list[int]], **kwargs) -> list[float]:
        rewards = []
        for ids in completion_ids:
            completion_length = len(ids)
            if completion_length <= self.max_completion_len - self.soft_punish_cache:
                rewards.append(0.0)
            elif self.max_completion_len - self.soft_punish_cache < completion_length <= self.max_completion_len:
                rewards.append(
                    (self.max_completion_len - self.soft_punish_cache - completion_length) / self.soft_punish_cache
                )
            else:
                rewards.append(-1.0)
        return rewards


# --------------------------------------------------------------------------------------------
# volcengine/verl, verl/workers/reward_manager/dapo.py at commit 003364bc724da7d6efb63834fa1c496e1a55c888
#
# Copyright 2024 Bytedance Ltd. and/or its affiliates
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
#
# The overlong branch of DAPORewardManager.__call__, lifted out of the tensor loop into a
# function of its inputs (valid_response_length, max_resp_len, overlong_buffer_cfg); the
# arithmetic lines are unchanged.


def verl_dapo_overlong_reward(valid_response_length, max_resp_len, overlong_buffer_len, overlong_penalty_factor):
    expected_len = max_resp_len - overlong_buffer_len
    exceed_len = valid_response_length - expected_len
    overlong_reward = min(-exceed_len / overlong_buffer_len * overlong_penalty_factor, 0)
    return overlong_reward


# --------------------------------------------------------------------------------------------
# Driver: run each case's samples through its anchor.


def length_of(sample):
    """What the anchors count: the training loop's token count when the case gives one, else characters."""
    tokens = sample.get("completion_tokens")
    return tokens if isinstance(tokens, int) else len(sample["completion"])


def run_anchor(anchor, params, samples):
    completions = [[{"content": s["completion"]}] for s in samples]
    solution = ["CORRECT" if s.get("verdict") == "correct" else "INCORRECT" for s in samples]
    if anchor == "open-r1 format_reward":
        return format_reward(completions)
    if anchor == "open-r1 tag_count_reward":
        return tag_count_reward(completions)
    if anchor == "open-r1 len_reward":
        return len_reward(completions, solution)
    if anchor == "open-r1 get_cosine_scaled_reward":
        keys = ["min_value_wrong", "max_value_wrong", "min_value_correct", "max_value_correct", "max_len"]
        return get_cosine_scaled_reward(**{k: params[k] for k in keys if k in params})(completions, solution)
    if anchor == "open-r1 get_repetition_penalty_reward":
        fn = get_repetition_penalty_reward(params.get("ngram_size", 3), params.get("max_penalty", -1.0))
        return fn(completions)
    if anchor == "trl get_repetition_penalty_reward":
        fn = trl_get_repetition_penalty_reward(params.get("ngram_size", 3), params.get("max_penalty", -1.0))
        return fn([s["completion_ids"] for s in samples])
    if anchor == "trl think_format_reward":
        return think_format_reward(completions)
    if anchor == "trl get_soft_overlong_punishment":
        fn = get_soft_overlong_punishment(params["max_length"], params["buffer"])
        return fn([[1] * length_of(s) for s in samples])
    if anchor == "verl DAPORewardManager overlong_buffer":
        factor = params.get("penalty_factor", 1.0)
        return [verl_dapo_overlong_reward(length_of(s), params["max_length"], params["buffer"], factor) for s in samples]
    raise SystemExit(f"unknown anchor {anchor!r}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "..", "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                case = json.loads(line)
                anchor = case.get("anchor")
                if not anchor:
                    continue
                values = [float(v) for v in run_anchor(anchor, case.get("params", {}), case["samples"])]
                print(json.dumps({"id": case["id"], "anchor": anchor, "values": values}, ensure_ascii=False))


if __name__ == "__main__":
    main()
