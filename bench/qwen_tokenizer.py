"""A real Chinese LLM tokenizer for benchmarks, offline: Qwen's 151,643-token BPE as a transformers fast tokenizer.

Why: prompt lengths, how much of a prompt the 5 orders of an item share, and the cost of the vocabulary-sized
output layer all depend on the tokenizer. A BPE trained on the demo suite itself compresses its items far more
than any real model's tokenizer, and its 25k vocabulary is smaller than any current Chinese LLM's (Qwen, GLM-4:
151k; Llama 3: 128k; Baichuan 2: 125k). The hub is unreachable here, but the ``dashscope`` wheel (pinned in
bench/requirements-bench.txt) ships Qwen's ``qwen.tiktoken`` ranks; transformers' TikTokenConverter turns them
into a fast tokenizer with Qwen's split pattern, special tokens and ChatML template.
"""
from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

# Qwen(1)'s pre-tokenizer pattern (single digits, unlike tiktoken's cl100k \p{N}{1,3}) and special tokens
QWEN_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                r"""\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *(f"<|extra_{i}|>" for i in range(205))]


def qwen_ranks_file() -> Path:
    """Path of ``qwen.tiktoken`` inside the installed dashscope package (found without importing it)."""
    spec = importlib.util.find_spec("dashscope")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the Qwen tokenizer needs `pip install -r bench/requirements-bench.txt` (dashscope)")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "qwen.tiktoken"
    if not path.is_file():
        raise SystemExit(f"{path} is missing from the installed dashscope package")
    return path


def build_qwen_tokenizer():  # type: ignore[no-untyped-def]
    """A PreTrainedTokenizerFast equal in vocabulary and splitting to Qwen's tokenizer (``build_tiny_model``
    saves it with the model)."""
    from tokenizers import decoders, pre_tokenizers
    from tokenizers import Regex
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    from evaluator.engine.tiny_models import CHAT_TEMPLATE

    class _Converter(TikTokenConverter):
        @staticmethod
        def load_tiktoken_bpe(tiktoken_url: str) -> dict[bytes, int]:  # without the tiktoken package
            lines = Path(tiktoken_url).read_bytes().splitlines()
            return {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in lines if line)}

    tok = _Converter(vocab_file=str(qwen_ranks_file()), pattern=QWEN_PATTERN).tokenizer()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(QWEN_SPECIAL)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None)
    fast.chat_template = CHAT_TEMPLATE
    return fast
