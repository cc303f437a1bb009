#!/usr/bin/env python3
"""A Python client for `rlvr serve`, usable as a TRL `GRPOTrainer` reward function.

Standard library only (no `requests`), so it drops into any training environment.

    from rlvr_client import RlvrReward
    reward = RlvrReward("http://127.0.0.1:8080")            # math: gold from the `answer` column
    trainer = GRPOTrainer(model=..., reward_funcs=[reward], train_dataset=ds, ...)

TRL calls a reward function as `f(prompts=..., completions=..., completion_ids=..., **columns)`
where `columns` holds every dataset column for the batch (here `answer`, or `tests` for code), and
expects one float per completion, or None to leave a completion out of its group's baseline. This
client sends the whole batch in one `POST /v1/score` (results come back in order), returns the
`reward` of each outcome, and None for a sample rlvr could not judge (verdict `error`: a malformed
sample or an internal failure), so a broken sample never looks like a wrong answer.

When the server's queue is full it answers 429 with `Retry-After`; the client waits that long and
retries (at most `retries` times), so a burst from many trainer processes is absorbed, not lost.
A connection failure, 502, 503 or 504 (a replica restarting, a balancer without a live backend) is
retried the same way, on the next URL when several are given (`RlvrReward("http://h1:8080,http://h2:8080")`);
every rlvr route is a pure function of its body, so a retry is safe. A 4xx other than 429 is
permanent and raised at once with the server's message.

Run `python3 rlvr_client.py --self-test URL` to check a running server end to end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Iterable, Optional


class RlvrError(RuntimeError):
    """The server could not score a batch (after retries); carries the HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(f"rlvr server answered {status}: {message}")
        self.status = status
        self.message = message


def _completion_text(completion: Any) -> str:
    """TRL completions are strings, or (conversational) a list of messages; take the last content."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


class RlvrClient:
    """Thin client for the rlvr HTTP API."""

    def __init__(self, url: str = "http://127.0.0.1:8080", timeout: float = 300.0, retries: int = 5):
        self.urls = [u.strip().rstrip("/") for u in url.split(",") if u.strip()]
        self.url = self.urls[0]
        self.timeout = timeout
        self.retries = retries
        self._next = 0

    def _request(self, method: str, path: str, body: Optional[dict] = None) -> tuple[int, dict, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            return 0, {}, str(error).encode()

    def post_json(self, path: str, body: dict) -> dict:
        """POSTs `body`; retries 429, 502-504 and connection failures (on the next URL when there
        are several); raises RlvrError on a permanent failure or when retries run out."""
        for attempt in range(self.retries + 1):
            status, headers, raw = self._request("POST", path, body)
            if status == 200:
                return json.loads(raw)
            if status in (0, 429, 502, 503, 504) and attempt < self.retries:
                if status != 429 and len(self.urls) > 1:
                    self._next = (self._next + 1) % len(self.urls)
                    self.url = self.urls[self._next]
                time.sleep(float(headers.get("Retry-After", "1")) if status == 429 else 0.5)
                continue
            try:
                message = json.loads(raw)
                message = message.get("error", {}).get("message") or message.get("message") or raw.decode()
            except ValueError:
                message = raw.decode(errors="replace")
            raise RlvrError(status, message)
        raise RlvrError(status, "still failing after retries")

    def score(self, samples: list[dict]) -> list[dict]:
        """Scores samples (the `rlvr score` contract); one outcome per sample, in order."""
        results = self.post_json("/v1/score", {"samples": samples})["results"]
        if len(results) != len(samples):
            raise RlvrError(200, f"{len(results)} results for {len(samples)} samples")
        return results

    def health(self) -> dict:
        """The server's `/health` answer."""
        status, _, raw = self._request("GET", "/health")
        if status != 200:
            raise RlvrError(status, raw.decode(errors="replace"))
        return json.loads(raw)


class RlvrReward:
    """A TRL reward function scored by rlvr: `reward_funcs=[RlvrReward(url)]`."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8080",
        answer_column: str = "answer",
        tests_column: str = "tests",
        recipe: Optional[str] = None,
        timeout: float = 300.0,
        retries: int = 5,
    ):
        self.client = RlvrClient(url, timeout=timeout, retries=retries)
        self.answer_column = answer_column
        self.tests_column = tests_column
        self.recipe = recipe
        # TRL logs each reward function under its __name__.
        self.__name__ = f"rlvr_{recipe or 'accuracy'}"

    def samples(self, prompts: Optional[Iterable[Any]], completions: list[Any], **columns: Any) -> list[dict]:
        """The rlvr samples for one TRL batch."""
        answers = columns.get(self.answer_column)
        tests = columns.get(self.tests_column)
        prompts = list(prompts) if prompts is not None else [None] * len(completions)
        out = []
        for i, completion in enumerate(completions):
            sample: dict[str, Any] = {"id": i, "completion": _completion_text(completion)}
            if answers is not None:
                sample["answer"] = answers[i]
            if tests is not None:
                sample["tests"] = json.loads(tests[i]) if isinstance(tests[i], str) else tests[i]
            if self.recipe:
                sample["recipe"] = self.recipe
            if prompts[i] is not None:
                sample["prompt"] = prompts[i]
            out.append(sample)
        return out

    def __call__(self, prompts=None, completions=None, completion_ids=None, **columns) -> list[Optional[float]]:
        completions = list(completions or [])
        if not completions:
            return []
        results = self.client.score(self.samples(prompts, completions, **columns))
        return [None if r["verdict"] == "error" else float(r["reward"]) for r in results]


def self_test(url: str, expect_math: bool) -> None:
    """Drives a running server through this client; raises AssertionError on any mismatch."""
    client = RlvrClient(url, timeout=60)
    health = client.health()
    assert health["status"] == "ok", health
    reward = RlvrReward(url)
    completions = [
        "We add them: \\boxed{4}",
        [{"role": "assistant", "content": "The answer is \\boxed{5}."}],
        "I think it is \\boxed{\\frac{1}{2}}",
    ]
    rewards = reward(prompts=["2+2?", "2+2?", "half?"], completions=completions, answer=["4", "4", "0.5"])
    assert len(rewards) == 3, rewards
    assert all(r is None or isinstance(r, float) for r in rewards), rewards
    if expect_math:
        assert rewards == [1.0, 0.0, 1.0], rewards
    # A sample without a gold answer cannot be judged: None, not a silent 0.
    assert reward(prompts=None, completions=["\\boxed{1}"]) == [None]
    # A large batch keeps its order: ids come back as sent.
    samples = [{"id": f"s{i}", "completion": f"\\boxed{{{i}}}", "answer": str(i)} for i in range(500)]
    results = client.score(samples)
    assert [r["id"] for r in results] == [s["id"] for s in samples]
    # OpenRLHF's protocol on the same server.
    got = client.post_json("/get_reward", {"query": ["Q: 1+1? \\boxed{2}"], "prompts": ["Q: 1+1? "], "labels": ["2"]})
    assert len(got["rewards"]) == 1, got
    if expect_math:
        assert got["rewards"] == [1.0], got
    # An invalid body is a typed 400, surfaced as RlvrError.
    try:
        client.post_json("/v1/score", {"samples": 3})
    except RlvrError as error:
        assert error.status == 400, error
    else:
        raise AssertionError("a malformed body was accepted")
    print(f"rlvr_client self-test passed against {url} (rewards {rewards})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--self-test", metavar="URL", help="check a running `rlvr serve` end to end")
    parser.add_argument("--expect-math", action="store_true", help="also check the math verdicts")
    args = parser.parse_args()
    if args.self_test:
        self_test(args.self_test, args.expect_math)
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
