"""An OpenRLHF reward function file backed by the rlvr engine.

Pass this file to OpenRLHF as the remote reward "URL"::

    --remote_rm_url $(python -c "import rlvr.openrlhf as m; print(m.__file__)")

OpenRLHF loads it with ``importlib`` and calls ``reward_func(queries, prompts, labels)``, where a
query is the prompt and the response decoded as one string. The response is found by the same rule
as ``rlvr serve``'s ``/get_reward``: the text after the prompt when the query starts with it, else
after the prompt's tail (a left-truncated or re-spaced prompt; whitespace and special tokens are
ignored). A query whose response cannot be told apart from its prompt earns 0 and is logged: the
whole query is never scored, since a few-shot prompt's own ``\boxed{}`` would then earn the reward.
The label is the gold answer. The result has the shape OpenRLHF expects (and that
``/get_reward`` answers): ``rewards``, ``scores`` and ``extra_logs``. ``RLVR_RECIPE`` in the
environment picks a recipe other than ``math``.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Sequence

from rlvr._rlvr import openrlhf_response
from rlvr._shared import default_engine, log_once

logger = logging.getLogger("rlvr.openrlhf")


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any) -> dict:
    """Rewards for OpenRLHF: ``{"rewards": [...], "scores": [...], "extra_logs": {"correct": [...]}}``."""
    n = len(queries)
    if len(prompts) != n or len(labels) != n:
        raise ValueError(f"{n} queries but {len(prompts)} prompts and {len(labels)} labels")
    recipe = os.environ.get("RLVR_RECIPE")
    samples = []
    unfound = {}
    for i, (query, prompt, label) in enumerate(zip(queries, prompts, labels)):
        try:
            completion = openrlhf_response(query, prompt)
        except ValueError as e:
            unfound[i] = {"reward": 0.0, "correct": False, "verdict": "error", "error": str(e)}
            continue
        sample = {"id": i, "completion": completion, "answer": label, "prompt": prompt}
        if recipe:
            sample["recipe"] = recipe
        samples.append(sample)
    scored = iter(default_engine().score(samples))
    outcomes = [unfound[i] if i in unfound else next(scored) for i in range(n)]
    for o in outcomes:
        if o["verdict"] in ("error", "invalid_gold"):
            log_once(logger, f"rlvr.openrlhf: a sample could not be judged ({o['verdict']}): {o['error']}")
    rewards = [float(o["reward"]) for o in outcomes]
    return {
        "rewards": rewards,
        "scores": rewards,
        "extra_logs": {"correct": [float(o["correct"]) for o in outcomes]},
    }
