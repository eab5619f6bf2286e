# Writes the tokenizer fixtures: small BPE tokenizers TRAINED here with Hugging Face `tokenizers` (no
# downloads) in the real file formats, and the ids `tokenizers` gives for a list of hard strings, so
# tests/dataset/test_bpe_*.cpp can check data/tokenizer/ id for id.
#
#   tests/data/tokenizers/gpt2_files/    vocab.json + merges.txt (GPT-2 layout, "#version: 0.2" header)
#   tests/data/tokenizers/gpt2_json/     the same model as tokenizer.json (ByteLevel, merges as "a b" strings)
#   tests/data/tokenizers/smollm/       the same model behind Sequence[Digits(individual_digits), ByteLevel] (SmolLM, StarCoder)
#   tests/data/tokenizers/llama3/        tokenizer.json: Sequence[Split(LLaMA-3 regex), ByteLevel], ignore_merges,
#                                        merges as [a, b] pairs (the form tokenizers 0.20 writes)
#   tests/data/tokenizers/sp_legacy/     tokenizer.json, LLaMA-2 style: Prepend("▁") + Replace(" ", "▁") normalizer,
#                                        no pre-tokenizer, byte_fallback with <0x00>..<0xFF>, decoder Replace/ByteFallback/Fuse/Strip, "a b" merges
#   tests/data/tokenizers/sp_metaspace/  the same model behind a Metaspace pre-tokenizer and decoder
#   tests/data/tokenizers/expected.json  {name: [{"text", "ids", "decoded"}]}: encode(text, add_special_tokens=False)
#                                        and decode(ids, skip_special_tokens=False) by `tokenizers`
#   tests/fuzz/bpe_files/, tests/fuzz/tokenizer_json/  fuzz seeds: the files above cut to 40 merges, NUL, a text
# gpt2_files' reference is transformers' GPT2TokenizerFast(vocab_file, merges_file), what a user of those two files gets.
# Made with tokenizers 0.20.3 and transformers 4.46.3 (the virtualenv of make_gpt2_fixture.py).
# Run from the repository root:  /tmp/bnbenv/bin/python tests/reference/make_tokenizer_fixtures.py
import json
import os
import random

import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

OUT = "tests/data/tokenizers"
MERGES = 300  # a few hundred merges: enough to make words, small enough to commit
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def training_text(seed=0, lines=2000):
    """A generated corpus: English-like words, accents, a little CJK, digits, contractions, code-ish lines."""
    rng = random.Random(seed)
    words = ("the cat sat on mat and dog ran to park she he it was were is are have had good day "
             "time people world hello there little big red blue green tree house water").split()
    accented = "café naïve résumé über straße señor élan crème façade".split()
    cjk = ["你好", "世界", "日本語", "東京"]
    contractions = ["it's", "don't", "we're", "I've", "I'm", "you'll", "he'd", "IT'S"]
    out = []
    for _ in range(lines):
        parts = []
        for _ in range(rng.randint(4, 14)):
            r = rng.random()
            if r < 0.70:
                w = rng.choice(words)
                parts.append(w.capitalize() if rng.random() < 0.1 else w)
            elif r < 0.78:
                parts.append(rng.choice(accented))
            elif r < 0.82:
                parts.append(rng.choice(cjk))
            elif r < 0.90:
                parts.append(str(rng.randint(0, 99999)))
            else:
                parts.append(rng.choice(contractions))
        line = " ".join(parts) + rng.choice([".", "!", "?", ",", ":", " ;"])
        if rng.random() < 0.1:
            line = "    " + line.replace(" ", "\t", 1)
        out.append(line)
    return out


TEXT = training_text()

INPUTS = [
    "Hello world",
    "the cat sat on the mat.",
    "  leading spaces and trailing   ",
    "tabs\tand\t\ttabs",
    "line one\nline two\r\nline three\n\n\nend",
    "digits 1234567 and 42 and 3.14159",
    "it's don't we're I've I'm you'll he'd IT'S DON'T",
    "café naïve résumé über straße señor",
    "你好世界 日本語 東京 中文字",
    "emoji 😀🎉 and 👍🏽 flags 🇫🇷",
    "mixed:  a\u00a0b\u3000c  d",
    "code: def f(x):\n    return x**2 + 1  # comment",
    "punctuation!!! ??? ... --- ((()))",
    "a",
    " ",
    "\n",
    "",
    "x" * 40 + " " + "ab" * 25,
    "Ω≈ç√∫˜µ≤≥÷ ¡™£¢∞§¶•ªº",
]


def special_inputs(tokens):
    a, b = tokens[0], tokens[-1]
    return [f"{a}Hello world{b}", f"text {b} more text{a}{a}", f"{b}", f" {a} "]


def train(model, pre_tokenizer, special_tokens, initial_alphabet):
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=len(initial_alphabet) + len(special_tokens) + MERGES, min_frequency=2,
                                  special_tokens=special_tokens, initial_alphabet=initial_alphabet, show_progress=False)
    tok.train_from_iterator(TEXT, trainer)
    return tok


def save_json(tok_or_dict, folder):
    os.makedirs(os.path.join(OUT, folder), exist_ok=True)
    d = json.loads(tok_or_dict.to_str()) if isinstance(tok_or_dict, Tokenizer) else tok_or_dict
    with open(os.path.join(OUT, folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(d, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return d


def merges_as_strings(d):
    """The older "a b" form of merges (tokenizers 0.20 writes [a, b] pairs; both are read)."""
    d["model"]["merges"] = [m if isinstance(m, str) else " ".join(m) for m in d["model"]["merges"]]
    return d


def cases(tok, specials):
    rows = []
    for text in INPUTS + special_inputs(specials):
        if isinstance(tok, Tokenizer):
            ids = tok.encode(text, add_special_tokens=False).ids
            decoded = tok.decode(ids, skip_special_tokens=False)
        else:  # transformers' fast tokenizer
            ids = tok.encode(text, add_special_tokens=False)
            decoded = tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        rows.append({"text": text, "ids": ids, "decoded": decoded})
    return rows


expected = {}
byte_alphabet = pre_tokenizers.ByteLevel.alphabet()

# GPT-2 style: ByteLevel pre-tokenizer (its regex), ByteLevel decoder.
gpt2 = train(models.BPE(), pre_tokenizers.ByteLevel(add_prefix_space=False), ["<|endoftext|>"], byte_alphabet)
gpt2.decoder = decoders.ByteLevel()
save_json(merges_as_strings(json.loads(gpt2.to_str())), "gpt2_json")
expected["gpt2_json"] = cases(gpt2, ["<|endoftext|>"])
os.makedirs(os.path.join(OUT, "gpt2_files"), exist_ok=True)
gpt2.model.save(os.path.join(OUT, "gpt2_files"))
fast = transformers.GPT2TokenizerFast(vocab_file=os.path.join(OUT, "gpt2_files", "vocab.json"),
                                      merges_file=os.path.join(OUT, "gpt2_files", "merges.txt"))
expected["gpt2_files"] = cases(fast, ["<|endoftext|>"])

# SmolLM / StarCoder style: the GPT-2 model behind Sequence[Digits(individual_digits), ByteLevel].
smol = json.loads(gpt2.to_str())
smol["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
    {"type": "Digits", "individual_digits": True},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
save_json(smol, "smollm")
expected["smollm"] = cases(Tokenizer.from_str(json.dumps(smol)), ["<|endoftext|>"])

# LLaMA-3 style: Split(regex, isolated) then ByteLevel without its own regex; ignore_merges.
llama3_pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
                                      pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
llama3_specials = ["<|begin_of_text|>", "<|end_of_text|>"]
llama3 = train(models.BPE(ignore_merges=True), llama3_pre, llama3_specials, byte_alphabet)
llama3.decoder = decoders.ByteLevel()
expected["llama3"] = cases(llama3, llama3_specials)
d = json.loads(llama3.to_str())
assert d["model"]["ignore_merges"] is True
assert isinstance(d["model"]["merges"][0], list)
save_json(d, "llama3")

# SentencePiece-like: characters, unknown ones fall back to <0xNN> byte tokens (ids 3..258, as in LLaMA-2).
byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
sp_specials = ["<unk>", "<s>", "</s>"]
sp = train(models.BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True),
           pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
           sp_specials + byte_tokens, [])
d = json.loads(sp.to_str())
d["added_tokens"] = [t for t in d["added_tokens"] if t["content"] in sp_specials]  # byte tokens: vocab only
sp_dict = d

legacy = json.loads(json.dumps(sp_dict))
legacy["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
legacy["pre_tokenizer"] = None
legacy["decoder"] = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
save_json(merges_as_strings(legacy), "sp_legacy")
expected["sp_legacy"] = cases(Tokenizer.from_str(json.dumps(legacy)), ["<s>", "</s>"])

meta = json.loads(json.dumps(sp_dict))
meta["decoder"] = {"type": "Sequence", "decoders": [
    {"type": "ByteFallback"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}]}
save_json(meta, "sp_metaspace")
expected["sp_metaspace"] = cases(Tokenizer.from_str(json.dumps(meta)), ["<s>", "</s>"])

with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
    json.dump({"versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
               **expected}, f, ensure_ascii=False, indent=0)
    f.write("\n")
for name, rows in expected.items():
    print(f"{name}: {len(rows)} strings, {sum(len(r['ids']) for r in rows)} ids")

# Fuzz seeds (tests/fuzz/bpe_files/, tests/fuzz/tokenizer_json/): the files above with their first 40 merges
# only, compact, then a NUL byte and a text (vocab.json NUL merges.txt NUL text for bpe_files).
SEED_TEXT = "Hello  world's 123 café 你好 😀\n\tIT'S <|endoftext|> x".encode() + b"\xff\xc3("


def reduced(d, keep_merges=40):
    d = json.loads(json.dumps(d))
    merges = [m if isinstance(m, list) else m.split(" ") for m in d["model"]["merges"]]
    results = {a + b for a, b in merges}
    kept = merges[:keep_merges]
    vocab = {t: i for t, i in d["model"]["vocab"].items() if t not in results or t in {a + b for a, b in kept}}
    d["model"]["vocab"] = vocab
    d["model"]["merges"] = kept if isinstance(d["model"]["merges"][0], list) else [f"{a} {b}" for a, b in kept]
    return d


def write_seed(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


for name in ["gpt2_json", "smollm", "llama3", "sp_legacy", "sp_metaspace"]:
    with open(os.path.join(OUT, name, "tokenizer.json"), encoding="utf-8") as f:
        d = json.load(f)
    compact = json.dumps(reduced(d), ensure_ascii=False, separators=(",", ":")).encode()
    write_seed("tests/fuzz/tokenizer_json", name, compact + b"\0" + SEED_TEXT)
gpt2_small = reduced(json.loads(gpt2.to_str()))
write_seed("tests/fuzz/bpe_files", "gpt2_small",
           json.dumps(gpt2_small["model"]["vocab"], ensure_ascii=False, separators=(",", ":")).encode() + b"\0" +
           ("#version: 0.2\n" + "\n".join(" ".join(m) for m in gpt2_small["model"]["merges"]) + "\n").encode() + b"\0" + SEED_TEXT)
with open(os.path.join(OUT, "gpt2_files", "vocab.json"), "rb") as v, open(os.path.join(OUT, "gpt2_files", "merges.txt"), "rb") as m:
    write_seed("tests/fuzz/bpe_files", "gpt2_full", v.read() + b"\0" + m.read() + b"\0" + SEED_TEXT)
