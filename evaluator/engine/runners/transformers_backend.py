"""The transformers backend: bf16/fp16 on GPU, fp32 on CPU, shared-prefix letter scoring, batched greedy generation.

Letter scoring runs two passes per batch: the shared prefixes of the batch's groups (right-padded, so that no
query row is fully masked), then every member's suffix on top of its group's cached keys/values (left-padded,
so that the last position of every row is real and only that position's logits are computed). Position ids
are given explicitly from the attention mask, so padding never shifts positions.

Sharing is decided per call (one chunk of a run): only where the shared plan computes at most 90% of the padded
tokens of the plain one (``batching.sharing_pays``): on short exam stems the second pass and the copied cache
cost more than the few shared tokens save, on long case items the case is computed once instead of K times.
Otherwise, and always with ``prefix_sharing=False`` (also chosen automatically, once, when a model's cache
cannot be shared across rows), every prompt is one left-padded row of a single pass.

Generation follows the same rule (``batching.generation_batches``): the K orders of an item prefill their shared
stem once (one left-padded pass of the decoder over the groups' prefixes), the cache is copied to every order's
row, and ``generate`` continues from it with each row's own suffix: greedy outputs are those of plain generation.
"""
from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Any

from evaluator.engine.runners.base import (ChoiceRequest, Generation, GenerationRequest, Interrupted, ModelLoadError,
                                           RequestError, RunnerInfo, check_interrupt, cut_at_stop, encode_prompts,
                                           letter_plan)
from evaluator.engine.runners.batching import PrefixGroup, generation_batches, letter_batches

DEFAULT_BUDGET = {"cpu": 4096, "cuda": 32768}  # padded tokens per forward pass


def resolve_device(device: str) -> str:
    import torch

    if device not in ("auto", "cpu", "cuda"):
        raise ModelLoadError(f"unknown device {device!r}: use auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("device 'cuda' was asked for but no CUDA GPU is available")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """CPU always computes in float32; on GPU "auto" is bfloat16 where supported, else float16."""
    import torch

    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise ModelLoadError(f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16")
    if device == "cpu":
        return "float32"
    if dtype == "auto":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return dtype


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's failure (a RuntimeError saying it cannot allocate)."""
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc))


def _plain_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if text and "ignore_mismatched_sizes" in text[0]:  # transformers prints the details to its log, not here
        return "the weights do not match config.json (tensor size mismatch)"
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()[:500]


def _decoder_of(model: Any) -> Any:
    """The model without its output layer, for the shared-prefix pass: only its key/value cache is used, and a
    vocabulary-sized output layer (151k rows for Qwen) costs as much as several decoder layers on a small model.
    Falls back to the whole model where the architecture offers no decoder."""
    try:
        decoder = model.get_decoder()
    except (AttributeError, NotImplementedError):
        decoder = None
    return decoder if decoder is not None and decoder is not model else model


class _InterruptCheck:
    """A generation stopping criterion that never stops a row, but raises Interrupted between decoding steps when
    the runner's ``interrupt`` gives a reason (transformers calls it once per step)."""

    def __init__(self, interrupt: Callable[[], str | None] | None):
        self.interrupt = interrupt

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        check_interrupt(self.interrupt)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


class _SettledCheck:
    """A stopping criterion that ends a row once its ``settled`` check says the answer can no longer change.

    Checked only when a row's newest token holds a line break (the extractor settles whole lines), so the cost is
    one decode per completed line, not per step."""

    def __init__(self, tokenizer: Any, width: int, checks: list[Callable[[str], bool] | None]):
        self.tokenizer, self.width, self.checks = tokenizer, width, checks
        self.active = any(c is not None for c in checks)
        self.stopped: set[int] = set()
        self._newline: dict[int, bool] = {}

    def _has_newline(self, token: int) -> bool:
        if token not in self._newline:
            self._newline[token] = "\n" in self.tokenizer.decode([token])
        return self._newline[token]

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if input_ids.shape[1] <= self.width:
            return done
        last = input_ids[:, -1].tolist()
        for ri, check in enumerate(self.checks):
            if check is None or ri in self.stopped or not self._has_newline(last[ri]):
                continue
            if check(self.tokenizer.decode(input_ids[ri, self.width:].tolist(), skip_special_tokens=True)):
                self.stopped.add(ri)
                done[ri] = True
        return done


def _halves(batch: list[PrefixGroup]) -> list[list[PrefixGroup]]:
    """A batch cut in two for an out-of-memory retry: by groups, or a lone group's rows (same prefix) in two."""
    if len(batch) > 1:
        return [batch[: len(batch) // 2], batch[len(batch) // 2:]]
    group = batch[0]
    half = len(group.rows) // 2
    return [[PrefixGroup(group.prefix, group.rows[:half])], [PrefixGroup(group.prefix, group.rows[half:])]]


class TransformersRunner:
    """A causal LM loaded with ``AutoModelForCausalLM``; see the module docstring for how passes are laid out."""

    name = "transformers"

    def __init__(self, model_path: str, *, dtype: str = "auto", device: str = "auto",
                 trust_remote_code: bool = False, token_budget: int | None = None, prefix_sharing: bool = True):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=trust_remote_code)
            self.model = AutoModelForCausalLM.from_pretrained(  # never a pickle checkpoint (see submissions.weights)
                model_path, dtype=getattr(torch, self.dtype), trust_remote_code=trust_remote_code,
                use_safetensors=True,
            ).to(self.device)
        except Exception as exc:  # every loading failure becomes one plain line for the queue page
            raise ModelLoadError(f"cannot load model from {model_path}: {_plain_reason(exc)}") from exc
        self.model.eval()
        self.decoder = _decoder_of(self.model)
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else 0
        self.max_len = int(getattr(self.model.config, "max_position_embeddings", 0) or 1 << 20)
        self.token_budget = token_budget or DEFAULT_BUDGET[self.device]
        self.prefix_sharing = prefix_sharing
        self.interrupt: Callable[[], str | None] | None = None
        self.info = RunnerInfo(
            backend=self.name, device=self._device_name(), dtype=self.dtype, model_path=str(model_path),
            settings={"token_budget": self.token_budget, "requested_dtype": dtype,
                      "prefix_sharing": "auto (where it pays)" if prefix_sharing else False,
                      "padding": "prefix right, suffix left", "logits": "last positions only"},
            counters={"forward_passes": 0, "oom_splits": 0, "multi_token_letters": 0, "shared_prefix_calls": 0,
                      "plain_calls": 0, "shared_generation_calls": 0, "plain_generation_calls": 0},
        )

    def _device_name(self) -> str:
        import torch

        if self.device == "cuda":
            return f"cuda:{torch.cuda.get_device_name(0)}"
        return f"cpu:{platform.processor() or platform.machine()}"

    # ----- tokenization -------------------------------------------------------------------------------------
    def encode(self, texts: list[str]) -> list[list[int]]:
        return encode_prompts(self.tokenizer, texts)

    # ----- letter scores ------------------------------------------------------------------------------------
    def letter_scores(self, requests: list[ChoiceRequest]) -> list[dict[str, float]]:
        if not requests:
            return []
        contexts = self.encode([r.prompt for r in requests])
        for i, ctx in enumerate(contexts):
            if len(ctx) + 8 > self.max_len:
                raise RequestError(i, f"prompt has {len(ctx)} tokens, over the model's context of {self.max_len}")
            if not requests[i].letters:
                raise RequestError(i, "request shows no letters")
        plans = letter_plan(self.tokenizer, requests, contexts)
        multi = [{letter: tokens for letter, tokens in plan.items() if len(tokens) != 1} for plan in plans]
        batches, sharing = letter_batches(contexts, [r.prefix_group for r in requests], self.token_budget,
                                          continuations=multi, sharing=self.prefix_sharing)
        self.info.counters["shared_prefix_calls" if sharing else "plain_calls"] += 1
        self.info.counters["multi_token_letters"] += sum(map(len, multi))
        results: list[dict[str, float]] = [{} for _ in requests]
        try:
            for batch in batches:
                check_interrupt(self.interrupt)
                self._score_with_oom_split(batch, plans, results)
        except Exception as exc:
            if not sharing or is_out_of_memory(exc) or isinstance(exc, Interrupted):
                raise
            # an architecture whose cache cannot be shared across rows: score whole prompts from now on
            self.prefix_sharing = False
            self.info.settings.update(prefix_sharing=False, prefix_sharing_off=_plain_reason(exc))
            return self.letter_scores(requests)
        return [{letter: results[i][letter] for letter in r.letters} for i, r in enumerate(requests)]

    def _score_with_oom_split(self, batch: list[PrefixGroup], plans: list[dict[str, list[int]]],
                              results: list[dict[str, float]]) -> None:
        """Run ``batch``; on out-of-memory, halve it (and the budget for later batches) and retry.

        The retry happens after the ``except`` block: inside it, the traceback would keep the failed batch's
        tensors alive and the halves would run out of memory too.
        """
        import torch

        try:
            self._score_batch(batch, plans, results)
            return
        except Exception as exc:
            if not is_out_of_memory(exc) or len(batch) == 1:
                raise
        self.info.counters["oom_splits"] += 1
        self.token_budget = max(256, self.token_budget // 2)
        if self.device == "cuda":
            torch.cuda.empty_cache()
        half = len(batch) // 2
        self._score_with_oom_split(batch[:half], plans, results)
        self._score_with_oom_split(batch[half:], plans, results)

    def _score_batch(self, batch: list[PrefixGroup], plans: list[dict[str, list[int]]],
                     results: list[dict[str, float]]) -> None:
        import torch

        dev = self.device
        rows = [row for g in batch for row in g.rows]
        row_group = [gi for gi, g in enumerate(batch) for _ in g.rows]
        prefix_len = max(len(g.prefix) for g in batch)
        with torch.inference_mode():
            cache = None
            past_mask = torch.zeros((len(rows), 0), dtype=torch.long, device=dev)
            start = torch.zeros(len(rows), dtype=torch.long, device=dev)
            if prefix_len:
                ids = torch.full((len(batch), prefix_len), self.pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), prefix_len), dtype=torch.long)
                for gi, g in enumerate(batch):  # right padding: no query row is ever fully masked
                    ids[gi, : len(g.prefix)] = torch.tensor(g.prefix)
                    mask[gi, : len(g.prefix)] = 1
                ids, mask = ids.to(dev), mask.to(dev)
                positions = torch.arange(prefix_len, device=dev).expand(len(batch), -1)
                head = {"logits_to_keep": 1} if self.decoder is self.model else {}  # no decoder: the fewest logits
                out = self.decoder(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **head)
                self.info.counters["forward_passes"] += 1
                index = torch.tensor(row_group, device=dev)
                cache = out.cache
                cache.batch_select_indices(index)
                past_mask = mask[index]
                start = past_mask.sum(-1)
            tokens = [row.suffix + row.continuation for row in rows]
            width = max(len(t) for t in tokens)
            ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for ri, t in enumerate(tokens):  # left padding: every row's last position is real
                ids[ri, width - len(t):] = torch.tensor(t)
                mask[ri, width - len(t):] = 1
            ids, mask = ids.to(dev), mask.to(dev)
            positions = (start[:, None] + mask.cumsum(-1) - 1).clamp(min=0)
            keep = 1 + max(len(row.continuation) for row in rows)
            out = self.model(input_ids=ids, attention_mask=torch.cat([past_mask, mask], dim=-1),
                             position_ids=positions, cache=cache, use_cache=cache is not None,
                             logits_to_keep=keep)
            self.info.counters["forward_passes"] += 1
            logprobs = torch.log_softmax(out.logits.float(), dim=-1).cpu()
        for ri, row in enumerate(rows):
            if row.letter is None:
                for letter, letter_tokens in plans[row.request].items():
                    if len(letter_tokens) == 1:
                        results[row.request][letter] = float(logprobs[ri, -1, letter_tokens[0]])
            else:
                c = len(row.continuation)
                total = sum(float(logprobs[ri, keep - 1 - c + j, tok]) for j, tok in enumerate(row.continuation))
                results[row.request][row.letter] = total

    # ----- generation ---------------------------------------------------------------------------------------
    def generate(self, prompts: list[str], max_new_tokens: int, stop: list[str] | None = None) -> list[str]:
        return [g.text for g in self.generate_requests(
            [GenerationRequest(p, max_new_tokens, stop) for p in prompts])]

    def generate_requests(self, requests: list[GenerationRequest]) -> list[Generation]:
        """Greedy answers, batched by token budget (longest first) among requests with the same limit and stop
        strings; a row ends at end of turn, at a stop string, or once its ``settled`` check says so. The K orders
        of an item prefill their shared stem once where that pays (``batching.generation_batches``)."""
        import torch

        if not requests:
            return []
        contexts = self.encode([r.prompt for r in requests])
        for i, (ctx, request) in enumerate(zip(contexts, requests)):
            if len(ctx) + request.max_new_tokens > self.max_len:
                raise RequestError(i, f"prompt of {len(ctx)} tokens plus {request.max_new_tokens} new tokens "
                                      f"exceeds the model's context of {self.max_len}")
        outputs: list[Generation | None] = [None] * len(requests)
        by_setting: dict[tuple[int, tuple[str, ...]], list[int]] = {}
        for i, request in enumerate(requests):
            by_setting.setdefault((request.max_new_tokens, tuple(request.stop or ())), []).append(i)
        for (max_new, stop), members in by_setting.items():
            pending, sharing = generation_batches([contexts[i] for i in members],
                                                  [requests[i].prefix_group for i in members], self.token_budget,
                                                  max_new, sharing=self.prefix_sharing)
            self.info.counters["shared_generation_calls" if sharing else "plain_generation_calls"] += 1
            while pending:
                check_interrupt(self.interrupt)
                batch = pending.pop(0)
                done: list[Generation] | None = None
                try:
                    done = self._generate_batch(batch, [requests[members[r.request]] for g in batch for r in g.rows],
                                                max_new, list(stop))
                except Exception as exc:
                    if sharing and not is_out_of_memory(exc) and not isinstance(exc, Interrupted):
                        # an architecture whose cache cannot be shared across rows: plain generation from now on
                        self.prefix_sharing = False
                        self.info.settings.update(prefix_sharing=False, prefix_sharing_off=_plain_reason(exc))
                        return self.generate_requests(requests)
                    if not is_out_of_memory(exc) or sum(len(g.rows) for g in batch) == 1:
                        raise
                if done is None:  # out of memory: split outside the except block (see _score_with_oom_split)
                    self.info.counters["oom_splits"] += 1
                    self.token_budget = max(256, self.token_budget // 2)
                    if self.device == "cuda":
                        torch.cuda.empty_cache()
                    pending[:0] = _halves(batch)
                    continue
                for row, generation in zip((r for g in batch for r in g.rows), done):
                    outputs[members[row.request]] = generation
        return [g for g in outputs if g is not None]

    def _prefill_prefixes(self, batch: list[PrefixGroup]) -> tuple[Any, Any, Any]:
        """The groups' shared prefixes, left-padded into one pass of the decoder, the cache copied to each
        group's rows: (prefix ids per row, their mask, the cache)."""
        import torch

        width = max(len(g.prefix) for g in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for gi, g in enumerate(batch):
            ids[gi, width - len(g.prefix):] = torch.tensor(g.prefix)
            mask[gi, width - len(g.prefix):] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # what generate computes for the whole prompt
        head = {"logits_to_keep": 1} if self.decoder is self.model else {}
        out = self.decoder(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **head)
        self.info.counters["forward_passes"] += 1
        index = torch.tensor([gi for gi, g in enumerate(batch) for _ in g.rows], device=self.device)
        cache = out.cache
        cache.batch_select_indices(index)
        return ids[index], mask[index], cache

    def _generate_batch(self, batch: list[PrefixGroup], requests: list[GenerationRequest], max_new: int,
                        stop: list[str]) -> list[Generation]:
        """Greedy generation of one batch of groups (one row per member): stop strings and settled answers end a
        row early (the text is cut at the stop string afterwards).

        A row is laid out as [padding, group prefix][padding, own suffix]: the prefixes are prefilled once per
        group (``_prefill_prefixes``) and ``generate`` continues from that cache, computing only the suffixes; the
        padding in the middle is masked and positions come from the mask, so every row reads as its whole prompt
        left-padded. Without prefixes (the plain plan) a row is simply its left-padded prompt."""
        import torch
        from transformers import GenerationConfig, StoppingCriteriaList

        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        config = GenerationConfig(max_new_tokens=max_new, do_sample=False, num_beams=1, pad_token_id=self.pad_id,
                                  eos_token_id=eos, stop_strings=stop or None)
        suffixes = [row.suffix for g in batch for row in g.rows]
        width = max(len(c) for c in suffixes)
        ids = torch.full((len(suffixes), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(suffixes), width), dtype=torch.long)
        for ri, c in enumerate(suffixes):
            ids[ri, width - len(c):] = torch.tensor(c)
            mask[ri, width - len(c):] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        criteria = [_InterruptCheck(self.interrupt)]
        with torch.inference_mode():
            cache = {}
            if any(g.prefix for g in batch):
                prefix_ids, prefix_mask, cache["cache"] = self._prefill_prefixes(batch)
                ids, mask = torch.cat([prefix_ids, ids], dim=-1), torch.cat([prefix_mask, mask], dim=-1)
            width = ids.shape[1]
            settled = _SettledCheck(self.tokenizer, width, [r.settled for r in requests])
            if settled.active:
                criteria.append(settled)
            out = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                      tokenizer=self.tokenizer, stopping_criteria=StoppingCriteriaList(criteria),
                                      **cache)
        self.info.counters["forward_passes"] += 1
        new = out[:, width:].cpu().tolist()
        results = []
        for ri, row in enumerate(new):
            ended = next((j for j, tok in enumerate(row) if tok in eos_ids), None)
            kept = row[: ended] if ended is not None else row
            while ended is None and kept and kept[-1] == self.pad_id:  # a row stopped early is padded
                kept = kept[:-1]
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            cut = cut_at_stop(text, stop)
            # the budget ran out only for a row that used all of it without an end of turn or a stop
            stopped = ended is not None or cut != text or ri in settled.stopped or len(kept) < max_new
            results.append(Generation(cut, "stop" if stopped else "length", len(kept)))
        return results

    def close(self) -> None:
        import gc

        import torch

        del self.model
        gc.collect()
        if self.device == "cuda":
            torch.cuda.empty_cache()

