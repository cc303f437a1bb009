"""A drop-in for Math-Verify 0.9.0's ``parse`` and ``verify``, judged by the rlvr engine.

``from rlvr.math_verify import parse, verify`` in place of ``from math_verify import parse, verify``.
The signatures are Math-Verify 0.9.0's. What differs, and why:

* ``parse`` does not build sympy objects: it returns a :class:`ParseResult`, a list holding the
  answer the engine reads from the text (empty when it finds none, as Math-Verify's is) and
  remembering the text itself; ``verify`` judges the texts with the engine, which extracts and
  compares answers exactly (rationals, big integers, sets, intervals, matrices, units...).
* No signals, no threads: ``parsing_timeout`` and ``timeout_seconds`` are accepted and ignored,
  because every parse and comparison is bounded by the engine's limits instead of a SIGALRM
  (safe in any thread, unlike Math-Verify's timeouts).
* ``extraction_config``, ``fallback_mode``, ``extraction_mode`` and the ``verify`` options
  ``float_rounding``, ``numeric_precision``, ``strict`` and ``allow_set_relation_comp`` are
  accepted for compatibility and ignored: the engine has one extraction rule (boxed, answer tags,
  "the answer is", math environments, last number) and one documented tolerance rule.
* ``raise_on_error=True`` raises :class:`rlvr.RlvrError` with the engine's reason where the
  engine could not judge (an invalid gold, a limit), instead of returning False.
* Plain strings (and lists of strings or sympy objects, via ``str``) are accepted on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from . import _rlvr

__all__ = [
    "parse",
    "verify",
    "ParseResult",
    "LatexExtractionConfig",
    "ExprExtractionConfig",
    "StringExtractionConfig",
]


@dataclass(frozen=True)
class LatexExtractionConfig:
    """Accepted for compatibility (Math-Verify's LaTeX extraction options); rlvr ignores it."""

    try_extract_without_anchor: bool = True
    boxed_match_priority: int = 55
    normalization_config: Any = None


@dataclass(frozen=True)
class ExprExtractionConfig:
    """Accepted for compatibility (Math-Verify's plain-expression extraction); rlvr ignores it."""

    try_extract_without_anchor: bool = True


@dataclass(frozen=True)
class StringExtractionConfig:
    """Accepted for compatibility (Math-Verify's letter extraction); rlvr reads choice letters itself."""

    strings: tuple = ("A", "B", "C", "D")
    try_extract_without_anchor: bool = True
    lowercase: bool = True


class ParseResult(list):
    """What :func:`parse` returns: ``[answer]`` (the answer rlvr reads) or ``[]``; ``.text`` is the input."""

    def __init__(self, text: str, items: Iterable[str] = ()):
        super().__init__(items)
        self.text = text


def _answer(text: str):
    # A gold-shaped text (`\\frac{1}{3}`, `$x^2$`, `\\boxed{4}`) shows as the gold the engine reads;
    # anything else as the answer its extractor finds. Only the display: `verify` judges the texts.
    if _rlvr.gold_parses(text):
        return _rlvr.extract_gold(text)
    return _rlvr.extract_answer(text)


def parse(
    pred: str,
    extraction_config: Sequence[Any] = (LatexExtractionConfig(), ExprExtractionConfig()),
    fallback_mode: str = "first_match",
    extraction_mode: str = "any_match",
    parsing_timeout: int | None = 5,
    raise_on_error: bool = False,
) -> ParseResult:
    """Reads the answer in ``pred``: ``[answer]``, or ``[]`` when there is none (Math-Verify's contract).

    ``extraction_config``, ``fallback_mode``, ``extraction_mode`` and ``parsing_timeout`` are
    accepted and ignored (see the module docs); no signal is ever used.
    """
    if not isinstance(pred, str):
        if raise_on_error:
            raise TypeError(f"parse() takes a string, got {type(pred).__name__}")
        return ParseResult("")
    answer = _answer(pred)
    return ParseResult(pred, [] if answer is None else [answer])


def _texts(value: Any) -> list[str]:
    if isinstance(value, ParseResult):
        return [value.text] if len(value) else []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v if isinstance(v, str) else str(v) for v in value]
    return [str(value)]


def verify(
    gold: Any,
    target: Any,
    float_rounding: int = 6,
    numeric_precision: int = 15,
    strict: bool = True,
    allow_set_relation_comp: bool = False,
    timeout_seconds: int | None = 5,
    raise_on_error: bool = False,
) -> bool:
    """True when any of ``target`` is equivalent to any of ``gold`` (Math-Verify's contract).

    ``gold`` and ``target`` are :func:`parse` results, strings or lists of them. The options other
    than ``raise_on_error`` are accepted and ignored (see the module docs).
    """
    for g in _texts(gold):
        for t in _texts(target):
            result = _rlvr.check(g, t)
            if result["verdict"] == "correct":
                return True
            if raise_on_error and result["verdict"] in ("invalid_gold", "error", "limit_exceeded"):
                raise _rlvr.RlvrError(result["reason"])
    return False


def sympy_expr_eq(*args: Any, **kwargs: Any) -> bool:
    """Math-Verify's sympy-level comparison: not provided, since rlvr compares its own ASTs, not sympy's."""
    raise NotImplementedError("rlvr.math_verify compares texts with the rlvr engine; sympy_expr_eq is not provided")
