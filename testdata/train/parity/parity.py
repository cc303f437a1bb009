"""Greedy-token parity of an rlvr checkpoint with transformers.

rlvr's run writes OUT/eval_after.jsonl: for each held-out prompt its token ids (chat template
applied) and rlvr's own greedy completion ids from the final weights, which are the weights of
the last checkpoint. This script loads that checkpoint with transformers, unchanged
(AutoModelForCausalLM.from_pretrained, float32), greedy-decodes the same prompt ids for as many
new tokens as rlvr generated (stopping at the generation config's EOS ids), and compares.

    python3 parity.py RUN_DIR/checkpoint-N RUN_DIR/eval_after.jsonl 5 > parity.json
"""
import json, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ckpt, completions, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = AutoModelForCausalLM.from_pretrained(ckpt, torch_dtype=torch.float32).eval()
tok = AutoTokenizer.from_pretrained(ckpt)
rows = [json.loads(l) for l in open(completions)][:n]
results = []
for r in rows:
    ids = torch.tensor([r["prompt_ids"]])
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=len(r["completion_ids"]),
                             do_sample=False, pad_token_id=model.generation_config.eos_token_id)
    hf = out[0, ids.shape[1]:].tolist()
    first_diff = next((i for i, (a, b) in enumerate(zip(hf, r["completion_ids"])) if a != b), None)
    results.append({"identical": hf == r["completion_ids"], "tokens": len(r["completion_ids"]), "first_difference": first_diff,
                    "rlvr": tok.decode(r["completion_ids"]), "transformers": tok.decode(hf)})
print(json.dumps({"checkpoint": ckpt, "transformers": __import__("transformers").__version__, "torch": torch.__version__,
                  "identical": sum(r["identical"] for r in results), "prompts": len(results), "results": results}, indent=1))
