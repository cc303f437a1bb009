"""verl reward functions backed by the rlvr engine.

As a custom reward function (verl's ``custom_reward_function`` config)::

    custom_reward_function.path=$(python -c "import rlvr.verl as m; print(m.__file__)")
    custom_reward_function.name=compute_score          # naive / dapo / prime reward managers
    # or name=compute_score_batched with reward_model.reward_manager=batch

Ground truths are read as verl's datasets store them (``reward_model.ground_truth``):

* math: the gold answer as a string or number (gsm8k's ``"72"``, MATH's ``"\\frac{1}{2}"``, DAPO's
  ``"34"``); a ``\\boxed{}`` gold is read too;
* code: the tests as a JSON string or dict, either rlvr's layout (``stdio``/``call``/``script``) or
  the APPS/TACO/PRIME layout ``{"inputs": [...], "outputs": [...]}`` (with ``fn_name``: each input
  is the argument list and each output the return value, a one-element list being unwrapped as
  TACO stores it); the completion's last fenced code block is run in rlvr's wasmtime sandbox.

Each call returns a dict: ``score`` (the recipe's reward), ``acc`` (whether the answer or program
is right), ``pred`` (the extracted answer, ``""`` when none) and ``verdict``; verl's reward
managers take ``score`` as the reward and log the rest. A sample that cannot be judged scores 0.0
with verdict ``error`` or ``invalid_gold``, and its reason is logged once. ``recipe=NAME`` (through
``custom_reward_function.reward_kwargs``) picks another recipe; the default is ``math`` for math
ground truths and ``code`` for tests.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Optional, Sequence

from ._shared import default_engine, log_once

__all__ = ["compute_score", "compute_score_batched", "to_sample"]

logger = logging.getLogger("rlvr.verl")

#: verl's code data sources (``default_compute_score``'s list).
CODE_SOURCES = ("codecontests", "apps", "codeforces", "taco")


def _plain(value: Any) -> Any:
    # verl's non-tensor batch holds numpy arrays and scalars.
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def _tests(ground_truth: Any) -> Optional[dict]:
    truth = _plain(ground_truth)
    if isinstance(truth, (str, bytes)):
        text = truth.decode() if isinstance(truth, bytes) else truth
        if not text.lstrip().startswith("{"):
            return None
        try:
            truth = json.loads(text)
        except ValueError:
            return None
    if not isinstance(truth, dict):
        return None
    if any(k in truth for k in ("stdio", "call", "script")):
        return truth
    if "inputs" in truth and "outputs" in truth:
        inputs, outputs = list(_plain(truth["inputs"])), list(_plain(truth["outputs"]))
        fn_name = truth.get("fn_name")
        if fn_name:
            calls = []
            for args, expected in zip(inputs, outputs):
                if isinstance(expected, list) and len(expected) == 1:
                    expected = expected[0]
                calls.append({"args": args if isinstance(args, list) else [args], "expected": expected})
            return {"call": calls, "entry_point": fn_name}
        return {"stdio": [{"input": str(i), "output": str(o)} for i, o in zip(inputs, outputs)]}
    return None


def to_sample(index: int, data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, recipe: Optional[str] = None) -> dict:
    """The rlvr sample for one verl item (see the module docs for how ground truths are read)."""
    sample: dict = {"id": index, "completion": solution_str, "data_source": _plain(data_source)}
    tests = _tests(ground_truth)
    if tests is not None or str(_plain(data_source)) in CODE_SOURCES:
        sample["tests"] = tests if tests is not None else _plain(ground_truth)
        if isinstance(tests, dict) and "language" in tests:
            sample["language"] = tests["language"]
    else:
        sample["answer"] = _plain(ground_truth)
    if recipe is not None:
        sample["recipe"] = recipe
    return sample


def _result(outcome: dict) -> dict:
    if outcome["verdict"] in ("error", "invalid_gold"):
        log_once(logger, f"rlvr.verl: a sample could not be judged ({outcome['verdict']}): {outcome['error']}")
    return {
        "score": float(outcome["reward"]),
        "acc": bool(outcome["correct"]),
        "pred": outcome["extracted"] if outcome["extracted"] is not None else "",
        "verdict": outcome["verdict"],
    }


def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, recipe: Optional[str] = None, **kwargs: Any) -> dict:
    """verl's ``compute_score``: the reward of one response, as ``{"score": ..., "acc", "pred", "verdict"}``.

    Other keyword arguments verl passes (``sandbox_fusion_url``, ``concurrent_semaphore``,
    ``memory_limit_mb``, reward kwargs) are accepted and ignored: code runs in rlvr's sandbox.
    """
    return _result(default_engine().score([to_sample(0, data_source, solution_str, ground_truth, extra_info, recipe)])[0])


def compute_score_batched(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Optional[Sequence[Any]] = None,
    recipe: Optional[str] = None,
    **kwargs: Any,
) -> list:
    """verl's batched form (``reward_manager=batch``): one dict per response, in order, scored as one
    parallel batch."""
    n = len(solution_strs)
    if len(data_sources) != n or len(ground_truths) != n:
        raise ValueError(f"{n} responses but {len(data_sources)} data sources and {len(ground_truths)} ground truths")
    extras = list(extra_infos) if extra_infos is not None else [None] * n
    samples = [to_sample(i, data_sources[i], solution_strs[i], ground_truths[i], extras[i], recipe) for i in range(n)]
    return [_result(o) for o in default_engine().score(samples)]
