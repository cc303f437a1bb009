"""TRL reward functions backed by the rlvr engine (for ``GRPOTrainer(reward_funcs=[...])``).

Each function takes TRL's keyword arguments: ``prompts``, ``completions``, ``completion_ids``, the
dataset's other columns by name (``solution``, ...), ``trainer_state``, ``log_extra`` and
``log_metric``. Completions may be standard (strings) or conversational (lists of messages, the
last one's ``content`` a string or a list of ``{"type": "text", "text": ...}`` blocks, joined).
A sample that cannot be judged (its gold does not parse, it is malformed) gets ``None``, which
TRL turns into NaN and leaves out of the reward; its reason is logged once per process.
Nothing here uses signals or subprocesses: call it from any thread.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Sequence

from ._rlvr import Engine
from ._shared import completion_text, default_engine, log_once

__all__ = ["accuracy_reward", "think_format_reward", "RewardFunction"]

logger = logging.getLogger("rlvr.trl")

#: Verdicts that mean "this sample could not be judged": TRL gets None for them.
UNJUDGEABLE = ("invalid_gold", "error")


def _rewards(outcomes: list, name: str) -> list:
    rewards = []
    for outcome in outcomes:
        if outcome["verdict"] in UNJUDGEABLE:
            log_once(logger, f"{name}: a sample could not be judged ({outcome['verdict']}): {outcome['error']}")
            rewards.append(None)
        else:
            rewards.append(float(outcome["reward"]))
    return rewards


def accuracy_reward(
    completions: Sequence[Any],
    solution: Sequence[str],
    log_extra: Optional[Callable[[str, list], None]] = None,
    **kwargs: Any,
) -> list:
    """1.0 when the completion's final answer equals ``solution``, else 0.0; None when the gold
    cannot be parsed (as TRL's ``accuracy_reward``)."""
    texts = [completion_text(c) for c in completions]
    if len(texts) != len(solution):
        raise ValueError(f"{len(texts)} completions but {len(solution)} solutions")
    samples = [{"id": i, "completion": t, "answer": s, "recipe": "math"} for i, (t, s) in enumerate(zip(texts, solution))]
    outcomes = default_engine().score(samples)
    if log_extra is not None:
        log_extra("solution", list(solution))
        log_extra("verdict", [o["verdict"] for o in outcomes])
        log_extra("extracted", [o["extracted"] if o["extracted"] is not None else "[none]" for o in outcomes])
    return _rewards(outcomes, "accuracy_reward")


def think_format_reward(completions: Sequence[Any], **kwargs: Any) -> list:
    """1.0 when the completion is one ``<think>...</think>`` block followed by the answer, else 0.0.

    The engine's ``think_format`` component (lenient mode), which differs from TRL's regex in two
    deliberate ways: whitespace before ``<think>`` is allowed (TRL: 0) and a second ``</think>``
    scores 0 (TRL: 1).
    """
    # r1-math carries think_format; its accuracy part (against a placeholder gold) is discarded.
    samples = [{"id": i, "completion": completion_text(c), "answer": "0", "recipe": "r1-math"} for i, c in enumerate(completions)]
    rewards = []
    for outcome in default_engine().score(samples):
        component = outcome["components"].get("think_format")
        rewards.append(float(component["score"]) if component else 0.0)
    return rewards


class RewardFunction:
    """A TRL reward function that scores with any rlvr recipe.

    >>> reward = RewardFunction(recipe="r1-math", answer_column="solution")
    >>> GRPOTrainer(..., reward_funcs=[reward])  # doctest: +SKIP

    recipe: the recipe name (built-in or from ``recipes``).
    answer_column: the dataset column holding the gold answer (math recipes).
    tests_column: the dataset column holding code tests (code recipes); a JSON string or a dict.
    language_column: the dataset column naming the code's language (default python).
    recipes, threads, limits: passed to :class:`rlvr.Engine`.
    Each sample also gets ``completion_tokens`` (the length of its ``completion_ids``) and its prompt,
    which length-based components read.
    """

    def __init__(
        self,
        recipe: str = "math",
        answer_column: Optional[str] = "solution",
        tests_column: Optional[str] = None,
        language_column: Optional[str] = None,
        recipes: Any = None,
        threads: Optional[int] = None,
        limits: Optional[dict] = None,
    ) -> None:
        self.recipe = recipe
        self.answer_column = answer_column
        self.tests_column = tests_column
        self.language_column = language_column
        self.engine = Engine(recipes=recipes, threads=threads, limits=limits) if (recipes or threads or limits) else default_engine()
        if recipe not in self.engine.recipes():
            raise ValueError(f"unknown recipe `{recipe}`; known: {', '.join(self.engine.recipes())}")
        # TRL names a reward function by its __name__ (in logs and metrics).
        self.__name__ = f"rlvr_{recipe.replace('-', '_')}"

    def __call__(
        self,
        prompts: Optional[Sequence[Any]] = None,
        completions: Optional[Sequence[Any]] = None,
        completion_ids: Optional[Sequence[Sequence[int]]] = None,
        trainer_state: Any = None,
        log_extra: Optional[Callable[[str, list], None]] = None,
        log_metric: Optional[Callable[[str, float], None]] = None,
        **columns: Any,
    ) -> list:
        import json

        if completions is None:
            raise ValueError("RewardFunction needs `completions`")
        n = len(completions)

        def column(name: Optional[str]) -> Optional[list]:
            if name is None:
                return None
            if name not in columns:
                raise ValueError(f"the dataset has no column `{name}` (columns: {', '.join(sorted(columns)) or 'none'})")
            values = list(columns[name])
            if len(values) != n:
                raise ValueError(f"column `{name}` has {len(values)} values for {n} completions")
            return values

        answers = column(self.answer_column)
        tests = column(self.tests_column)
        languages = column(self.language_column)
        samples = []
        for i, completion in enumerate(completions):
            sample: dict = {"id": i, "completion": completion_text(completion), "recipe": self.recipe}
            if answers is not None:
                sample["answer"] = answers[i]
            if tests is not None:
                t = tests[i]
                sample["tests"] = json.loads(t) if isinstance(t, str) else t
            if languages is not None:
                sample["language"] = languages[i]
            if completion_ids is not None:
                sample["completion_tokens"] = len(completion_ids[i])
            if prompts is not None:
                sample["prompt"] = completion_text(prompts[i])
            samples.append(sample)
        outcomes = self.engine.score(samples)
        if log_extra is not None:
            log_extra(f"{self.__name__}_verdict", [o["verdict"] for o in outcomes])
        return _rewards(outcomes, self.__name__)
