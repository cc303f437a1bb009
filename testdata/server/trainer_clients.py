#!/usr/bin/env python3
"""OpenRLHF's and slime's own reward-request code, run against a real `rlvr serve`.

    python3 testdata/server/trainer_clients.py http://127.0.0.1:PORT

The request functions below are copied verbatim from the trainers (only the enclosing class or
module is replaced by the two attributes they read); the tokenizer step OpenRLHF runs before the
call (`decode(prompt_token_ids[-max_prompt_length:] + action_token_ids)`) is reproduced on word
tokens, with the two ways real decoders do not round-trip: left truncation and re-spacing around
special tokens. Exit code 1 on any unexpected answer.
"""

import asyncio
import json
import logging
import random
import sys
import types

import aiohttp

logger = logging.getLogger("trainer_clients")


# --- github:OpenRLHF/OpenRLHF@3c3be62 openrlhf/utils/agent.py, SingleTurnAgentExecutor (verbatim) ---
class SingleTurnAgentExecutor:
    def __init__(self, reward_endpoints):
        self.reward_endpoints = reward_endpoints

    async def _fetch_rewards_via_http(self, queries_list, prompts_list, labels_list):
        """HTTP fallback: shard requests across servers."""
        num_servers = len(self.reward_endpoints)
        batch_size = (len(queries_list) + num_servers - 1) // num_servers
        timeout = aiohttp.ClientTimeout(total=180)

        tasks = []
        for i, rm in enumerate(self.reward_endpoints):
            start_idx = i * batch_size
            end_idx = min((i + 1) * batch_size, len(queries_list))
            payload = {
                "query": queries_list[start_idx:end_idx],
                "prompts": prompts_list[start_idx:end_idx],
                "labels": labels_list[start_idx:end_idx],
            }

            async def _post_request(url, data, try_max_times=5):
                for _ in range(try_max_times):
                    try:
                        async with aiohttp.ClientSession(timeout=timeout) as session:
                            async with session.post(url, json=data) as response:
                                response.raise_for_status()
                                return await response.json()
                    except aiohttp.ClientError as e:
                        logger.info(f"Request error, please check: {e}")
                    except Exception as e:  # pragma: no cover - defensive
                        logger.info(f"Unexpected error, please check: {e}")
                    await asyncio.sleep(1)

                raise RuntimeError(
                    f"Request error for {try_max_times} times, returning None. Please check the API server."
                )

            tasks.append(asyncio.create_task(_post_request(rm, payload)))
        return await asyncio.gather(*tasks)


# --- github:THUDM/slime slime/rollout/rm_hub/__init__.py (verbatim) ---
_shared_session = None


def _get_shared_session() -> aiohttp.ClientSession:
    global _shared_session
    if _shared_session is None or _shared_session.closed:
        connector = aiohttp.TCPConnector(
            limit=64,
            enable_cleanup_closed=True,
        )
        timeout = aiohttp.ClientTimeout(total=120)
        _shared_session = aiohttp.ClientSession(connector=connector, timeout=timeout)
    return _shared_session


async def remote_rm(args, sample, max_retries: int = 10):
    payload = {
        "prompt": sample.prompt,
        "response": sample.response,
        "label": sample.label,
    }
    session = _get_shared_session()
    for attempt in range(max_retries):
        try:
            async with session.post(args.rm_url, json=payload) as resp:
                resp.raise_for_status()
                return await resp.json()
        except Exception as e:
            if attempt + 1 >= max_retries:
                logger.warning(f"remote_rm failed after {attempt + 1} attempts: {e}")
                raise
            backoff = min(2**attempt, 30) + random.random()
            logger.info(f"remote_rm: {type(e).__name__}, retrying in {backoff:.1f}s ({attempt + 1}/{max_retries})")
            await asyncio.sleep(backoff)
# --- end of copied code ---


SPECIALS = ("<|im_start|>", "<|im_end|>")


def tokenize(text):
    """Word tokens with special tokens split off (a stand-in for the HF tokenizer's encode)."""
    for s in SPECIALS:
        text = text.replace(s, f" {s} ")
    return text.split()


def decode(tokens):
    """Joins with single spaces: like many decoders, it does not give the original spacing back."""
    return " ".join(tokens)


def openrlhf_query(prompt, response, max_prompt_length):
    prompt_token_ids = tokenize(prompt)
    if len(prompt_token_ids) > max_prompt_length:
        prompt_token_ids = prompt_token_ids[-max_prompt_length:]
    return decode(prompt_token_ids + tokenize(response))


async def main(base):
    problems = []
    few_shot = "Example: what is 1+2? Answer: \\boxed{3}.\n\n" * 8
    prompt = f"<|im_start|>user\n{few_shot}Now: what is 2+2? Box the answer.<|im_end|>\n<|im_start|>assistant\n"
    cases = [
        # (response, label, max_prompt_length, expected reward)
        ("I give up.<|im_end|>", "3", 10_000, 0.0),  # the reward hack, untruncated
        ("I give up.<|im_end|>", "3", 40, 0.0),  # ... and left-truncated to 40 tokens
        ("2+2 = \\boxed{4}<|im_end|>", "4", 10_000, 1.0),
        ("2+2 = \\boxed{4}<|im_end|>", "4", 40, 1.0),
        ("\\boxed{5}<|im_end|>", "4", 40, 0.0),
        ("\\boxed{4}", "", 10_000, 0.0),  # no --label_key: OpenRLHF sends ""
    ]
    queries = [openrlhf_query(prompt, r, n) for r, _, n, _ in cases]
    prompts = [prompt] * len(cases)
    labels = [label for _, label, _, _ in cases]
    # Sharded over two endpoints, as with --reward.remote_url URL1,URL2.
    executor = SingleTurnAgentExecutor([f"{base}/get_reward", f"{base}/get_reward"])
    answers = await executor._fetch_rewards_via_http(queries, prompts, labels)
    rewards = [r for a in answers for r in a["rewards"]]
    want = [c[3] for c in cases]
    if rewards != want:
        problems.append({"openrlhf_rewards": rewards, "expected": want, "answers": answers})
    # The agent reads `scores`, then `rewards`, and `extra_logs`.
    if any("scores" not in a or "extra_logs" not in a for a in answers):
        problems.append({"openrlhf_shape": answers})

    args = types.SimpleNamespace(rm_url=f"{base}/remote_rm")
    slime_cases = [("The answer is \\boxed{42}.", "42", 1.0), ("\\boxed{41}", "42", 0.0), ("no answer here", "42", 0.0)]
    for response, label, expected in slime_cases:
        sample = types.SimpleNamespace(prompt="What is 6*7?", response=response, label=label)
        got = await remote_rm(args, sample)
        if got != expected:
            problems.append({"slime": response, "got": got, "expected": expected})
    obj_args = types.SimpleNamespace(rm_url=f"{base}/remote_rm/object")
    got = await remote_rm(obj_args, types.SimpleNamespace(prompt="p", response="\\boxed{42}", label="42"))
    if not isinstance(got, dict) or got.get("reward") != 1.0:  # read with --reward-key reward
        problems.append({"slime_object": got})
    await _shared_session.close()
    print(json.dumps({"problems": problems, "openrlhf": rewards}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1].rstrip("/"))))
