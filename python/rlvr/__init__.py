"""rlvr: the rlvr reward engine in-process.

A thread-safe, signal-free reward engine for RL with verifiable rewards: exact math answer
equivalence, code run in wasmtime sandboxes, TOML reward recipes, batches scored in parallel by
Rust threads with the GIL released.

>>> import rlvr
>>> rlvr.verify("\\\\frac{1}{2}", "so the answer is \\\\boxed{0.5}")
True
>>> engine = rlvr.Engine()
>>> engine.score([{"id": 0, "completion": "\\\\boxed{4}", "answer": "4"}])[0]["reward"]
1.0

Drop-ins: :mod:`rlvr.math_verify` (Math-Verify's ``parse``/``verify``), :mod:`rlvr.trl` (TRL reward
functions), :mod:`rlvr.verl` (verl's ``compute_score``), :mod:`rlvr.openrlhf` (OpenRLHF's
``reward_func`` file) and :mod:`rlvr.ray` (score a batch over Ray actors).
"""

from ._rlvr import (
    INSTALL_COMMAND,
    MAX_VALUE_DEPTH,
    Engine,
    RlvrError,
    __version__,
    check,
    extract_answer,
    extract_gold,
    gold_parses,
    verify,
)

__all__ = [
    "Engine",
    "RlvrError",
    "verify",
    "check",
    "extract_answer",
    "extract_gold",
    "gold_parses",
    "recipes",
    "INSTALL_COMMAND",
    "MAX_VALUE_DEPTH",
    "__version__",
]


def recipes() -> list:
    """The names of the built-in reward recipes (``rlvr recipes`` prints their documentation)."""
    return Engine().recipes()
