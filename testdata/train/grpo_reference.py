#!/usr/bin/env python3
"""Independent reference numbers for rlvr's GRPO loss, advantages and KL (numpy, float64).

Follows TRL's GRPOTrainer (trl/trainer/grpo_trainer.py, `_compute_loss` and the advantage block of
`_generate_and_score_completions`, snapshot f2cd577):

    coef_1 = exp(logp - old_logp);  coef_2 = clamp(coef_1, 1 - epsilon, 1 + epsilon_high)
    per_token = -min(coef_1 * A, coef_2 * A) + beta * (exp(ref - logp) - (ref - logp) - 1)
    grpo:    mean_i( sum_t(per_token * mask) / clamp(sum_t mask, min=1) )
    bnpo:    sum(per_token * mask) / clamp(sum(mask), min=1)
    dr_grpo: sum(per_token * mask) / (B * max_completion_length)
    dapo:    sum(per_token * mask) / clamp(active tokens, min=1)
    advantages: A = r - mean_group(r), divided by (std + 1e-4) with std Bessel-corrected over
    the group ("group") or the whole batch ("batch"); "none" is Dr. GRPO.

The gradient with respect to logp is a central finite difference of the loss above, not an
analytic formula, so the Rust autograd is checked against something computed a different way.
Run:  python3 testdata/train/grpo_reference.py   (rewrites loss_cases.ndjson and advantage_cases.ndjson)
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def loss_fn(logp, old, ref, adv, mask, eps, eps_high, beta, loss_type, max_len):
    coef_1 = np.exp(logp - old)
    coef_2 = np.clip(coef_1, 1 - eps, 1 + eps_high)
    a = adv[:, None]
    per_token = -np.minimum(coef_1 * a, coef_2 * a)
    kl = np.exp(ref - logp) - (ref - logp) - 1
    if beta != 0.0:
        per_token = per_token + beta * kl
    if loss_type == "grpo":
        loss = ((per_token * mask).sum(-1) / np.maximum(mask.sum(-1), 1.0)).mean()
    elif loss_type == "bnpo":
        loss = (per_token * mask).sum() / max(mask.sum(), 1.0)
    elif loss_type == "dr_grpo":
        loss = (per_token * mask).sum() / (logp.shape[0] * max_len)
    elif loss_type == "dapo":
        loss = (per_token * mask).sum() / max(mask.sum(), 1.0)
    else:
        raise ValueError(loss_type)
    active = max(mask.sum(), 1.0)
    low = ((coef_1 < 1 - eps) & (a < 0)).astype(float)
    high = ((coef_1 > 1 + eps_high) & (a > 0)).astype(float)
    stats = {
        "kl": float((kl * mask).sum() / active),
        "clip_low": float((low * mask).sum() / active),
        "clip_high": float((high * mask).sum() / active),
        "clip_region": float(((low + high) * mask).sum() / active),
    }
    return loss, per_token, stats


def finite_difference(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (f(up) - f(down)) / (2 * h)
    return grad


def loss_cases():
    rng = np.random.default_rng(20261129)
    b, t = 4, 5
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=float)
    logp = rng.uniform(-3.0, -0.1, size=(b, t))
    drift = rng.choice([-0.6, -0.3, -0.05, 0.05, 0.3, 0.5], size=(b, t))
    old = logp + drift  # ratios well inside and well outside [1 - eps, 1 + eps_high]
    ref = logp + rng.uniform(-0.5, 0.5, size=(b, t))
    adv = np.array([1.3, -0.7, 0.4, -1.1])
    configs = [
        ("grpo", 0.2, 0.2, 0.0), ("grpo", 0.2, 0.2, 0.04), ("bnpo", 0.2, 0.28, 0.0),
        ("dr_grpo", 0.2, 0.2, 0.0), ("dr_grpo", 0.2, 0.28, 0.04), ("dapo", 0.2, 0.28, 0.0),
        ("dapo", 0.2, 0.28, 0.04), ("dapo", 0.1, 0.1, 0.001),
    ]
    cases = []
    for i, (loss_type, eps, eps_high, beta) in enumerate(configs):
        for on_policy in (False, True):
            o = logp.copy() if on_policy else old
            f = lambda x: loss_fn(x, o, ref, adv, mask, eps, eps_high, beta, loss_type, 8)[0]
            loss, per_token, stats = loss_fn(logp, o, ref, adv, mask, eps, eps_high, beta, loss_type, 8)
            cases.append({
                "id": f"loss-{loss_type}-eps{eps}-{eps_high}-beta{beta}-{'on' if on_policy else 'off'}-policy",
                "source": "testdata/train/grpo_reference.py (numpy, TRL _compute_loss)",
                "loss_type": loss_type, "epsilon": eps, "epsilon_high": eps_high, "beta": beta,
                "max_completion_length": 8,
                "logp": logp.tolist(), "old_logp": o.tolist(), "ref_logp": ref.tolist(),
                "advantages": adv.tolist(), "mask": mask.tolist(),
                "expected_loss": float(loss), "expected_per_token": per_token.tolist(),
                "expected_grad": finite_difference(f, logp).tolist(), **{f"expected_{k}": v for k, v in stats.items()},
            })
    return cases


def advantages(rewards, g, scale):
    r = np.asarray(rewards, dtype=float).reshape(-1, g)
    mean = r.mean(1, keepdims=True)
    a = r - mean
    if scale == "group":
        a = a / (r.std(1, ddof=1, keepdims=True) + 1e-4)
    elif scale == "batch":
        a = a / (r.reshape(-1).std(ddof=1) + 1e-4)
    return a.reshape(-1), (r.std(1, ddof=1) < 1e-12).tolist()


def advantage_cases():
    inputs = [
        ("r1-two-groups", [2, 0, 1, 1, 2, 2, 2, 2], 4),
        ("mixed-three-groups", [1.0, 0.2, 0.0, 1.2, 0.5, 0.7, 0.2, 1.0, 2.0], 3),
        ("pairs", [1, 0, 0, 0, 0.5, 1.5], 2),
    ]
    cases = []
    for name, rewards, g in inputs:
        for scale in ("group", "batch", "none"):
            a, zero = advantages(rewards, g, scale)
            cases.append({
                "id": f"adv-{name}-{scale}", "source": "testdata/train/grpo_reference.py (numpy, TRL advantages)",
                "rewards": rewards, "num_generations": g, "scale_rewards": scale,
                "expected": a.tolist(), "expected_zero_std": zero,
            })
    return cases


def write(name, rows):
    with open(os.path.join(HERE, name), "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    write("loss_cases.ndjson", loss_cases())
    write("advantage_cases.ndjson", advantage_cases())
