"""rlvr.math_verify called as TRL's accuracy_reward and verl's math_verify reward call Math-Verify."""

import threading

import pytest

from rlvr.math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
import rlvr


def test_trl_accuracy_reward_call():
    # trl/rewards/accuracy_rewards.py, with NormalizationConfig standing in as any object.
    gold = parse(r"\frac{1}{3}", parsing_timeout=10)
    assert len(gold) != 0
    answer = parse(
        r"My answer is \boxed{\frac{1}{3}}",
        extraction_config=[LatexExtractionConfig(normalization_config=object(), boxed_match_priority=0, try_extract_without_anchor=False)],
        extraction_mode="first_match",
        parsing_timeout=10,
    )
    assert float(verify(gold, answer, timeout_seconds=5)) == 1.0
    assert verify(gold, parse(r"\boxed{\frac{1}{2}}")) is False


def test_unparseable_is_empty_and_never_true():
    assert parse("") == [] and parse("").text == ""
    assert verify(parse("\\frac{"), parse("\\boxed{1}")) is False
    with pytest.raises(rlvr.RlvrError):
        verify("\\frac{", "\\boxed{1}", raise_on_error=True)


def test_extra_arguments_are_accepted():
    g = parse("$3$", [LatexExtractionConfig(), ExprExtractionConfig()], "no_fallback", "any_match", None, False)
    assert verify(g, parse("3.0"), 6, 15, False, True, None, False)
    assert verify("3", "\\boxed{3}") and verify(["4", "3"], ["3"])


def test_safe_off_the_main_thread():
    # Math-Verify's SIGALRM timeouts raise ValueError here; the shim has no signals.
    results = []
    t = threading.Thread(target=lambda: results.append(verify(parse("2"), parse("\\boxed{2}"), timeout_seconds=5)))
    t.start()
    t.join()
    assert results == [True]
