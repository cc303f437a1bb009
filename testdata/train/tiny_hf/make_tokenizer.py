"""Writes tokenizer.json: a byte-level BPE over the 256 byte symbols (GPT-2's byte-to-unicode
map) with a few merges, plus ChatML special tokens. Any text round-trips through it, so a tiny
random model's completions decode to real strings the engine can score.

Run: python make_tokenizer.py  (needs the `tokenizers` package; transformers depends on it)."""
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, AddedToken

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))

symbols = list(bytes_to_unicode().values())
merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "s"), ("Ġ", "1")]
vocab = {}
for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]:
    vocab[s] = len(vocab)
for s in symbols:
    vocab[s] = len(vocab)
for a, b in merges:
    vocab[a + b] = len(vocab)
tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]])
tok.save("tokenizer.json")
print(len(vocab), "tokens")
