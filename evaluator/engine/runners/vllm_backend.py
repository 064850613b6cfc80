"""The vLLM backend, used when vLLM is installed and a GPU is present (``pick_backend``).

Prefix caching is on, so the K orders of an item reuse the stem's KV blocks. Letter scores: one token is
generated per request with ``allowed_token_ids`` set to the shown letters, so the greedy token is the best letter;
with vLLM's default ``raw_logprobs`` mode the returned log-probs are full-vocabulary log-probs of the raw logits.
Letters outside the returned top ``TOP_LOGPROBS`` get that list's lowest value as an upper bound and are counted
in ``counters["letters_below_topk"]``: the chosen letter is always exact, far-behind letters are bounded.
Letters that are not one token are scored exactly from prompt log-probs of prompt + letter tokens.
"""
from __future__ import annotations

from collections.abc import Callable

from evaluator.engine.runners.base import (
    ChoiceRequest,
    Generation,
    GenerationRequest,
    ModelLoadError,
    RunnerInfo,
    check_interrupt,
    cut_at_stop,
    encode_prompts,
    letter_plan,
)
from evaluator.engine.runners.transformers_backend import _plain_reason, resolve_dtype

TOP_LOGPROBS = 20


class VllmRunner:
    name = "vllm"

    def __init__(self, model_path: str, *, dtype: str = "auto", trust_remote_code: bool = False,
                 tensor_parallel_size: int = 1):
        try:
            from vllm import LLM

            self.dtype = resolve_dtype(dtype, "cuda")
            self.llm = LLM(model=model_path, dtype=self.dtype, trust_remote_code=trust_remote_code,
                           enable_prefix_caching=True, max_logprobs=TOP_LOGPROBS, seed=0,
                           tensor_parallel_size=tensor_parallel_size,
                           load_format="safetensors")  # never a pickle checkpoint (see submissions.weights)
            self.tokenizer = self.llm.get_tokenizer()
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(f"cannot load model from {model_path} with vLLM: {_plain_reason(exc)}") from exc
        import torch

        self.info = RunnerInfo(
            backend=self.name, device=f"cuda:{torch.cuda.get_device_name(0)}", dtype=self.dtype,
            model_path=str(model_path),
            settings={"prefix_caching": True, "top_logprobs": TOP_LOGPROBS, "requested_dtype": dtype,
                      "tensor_parallel_size": tensor_parallel_size},
            counters={"letters_below_topk": 0, "multi_token_letters": 0},
        )
        self.interrupt: Callable[[], str | None] | None = None  # checked before each call: vLLM batches a whole chunk

    def letter_scores(self, requests: list[ChoiceRequest]) -> list[dict[str, float]]:
        from vllm import SamplingParams, TokensPrompt

        check_interrupt(self.interrupt)
        prompts, params, plans = [], [], []
        contexts = encode_prompts(self.tokenizer, [r.prompt for r in requests])
        for ctx, plan in zip(contexts, letter_plan(self.tokenizer, requests, contexts)):
            plans.append((ctx, plan))
            allowed = sorted({t[0] for t in plan.values() if len(t) == 1}) or None
            prompts.append(TokensPrompt(prompt_token_ids=ctx))
            params.append(SamplingParams(max_tokens=1, temperature=0.0, logprobs=TOP_LOGPROBS,
                                         allowed_token_ids=allowed))
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        results: list[dict[str, float]] = []
        for (ctx, plan), out in zip(plans, outputs):
            top = out.outputs[0].logprobs[0]
            floor = min(lp.logprob for lp in top.values())
            scores = {}
            for letter, tokens in plan.items():
                if len(tokens) != 1:
                    self.info.counters["multi_token_letters"] += 1
                    scores[letter] = self._continuation(ctx, tokens)
                elif tokens[0] in top:
                    scores[letter] = float(top[tokens[0]].logprob)
                else:
                    self.info.counters["letters_below_topk"] += 1
                    scores[letter] = float(floor)
            results.append(scores)
        return results

    def _continuation(self, ctx: list[int], tokens: list[int]) -> float:
        from vllm import SamplingParams, TokensPrompt

        out = self.llm.generate([TokensPrompt(prompt_token_ids=ctx + tokens)],
                                SamplingParams(max_tokens=1, prompt_logprobs=0), use_tqdm=False)[0]
        positions = out.prompt_logprobs[len(ctx):]
        return float(sum(p[t].logprob for p, t in zip(positions, tokens)))

    def generate(self, prompts: list[str], max_new_tokens: int, stop: list[str] | None = None) -> list[str]:
        return [g.text for g in self.generate_requests(
            [GenerationRequest(p, max_new_tokens, stop) for p in prompts])]

    def generate_requests(self, requests: list[GenerationRequest]) -> list[Generation]:
        """One vLLM call for the whole list: prefix caching shares the K orders' stems, vLLM's own scheduler
        batches. ``settled`` is not used (vLLM offers no per-step callback); stop strings are."""
        from vllm import SamplingParams, TokensPrompt

        check_interrupt(self.interrupt)
        if not requests:
            return []
        params = [SamplingParams(max_tokens=r.max_new_tokens, temperature=0.0, stop=r.stop or None)
                  for r in requests]
        ids = encode_prompts(self.tokenizer, [r.prompt for r in requests])
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=x) for x in ids], params, use_tqdm=False)
        return [Generation(cut_at_stop(o.outputs[0].text, r.stop),
                           "length" if o.outputs[0].finish_reason == "length" else "stop",
                           len(o.outputs[0].token_ids)) for o, r in zip(outputs, requests)]

    def close(self) -> None:
        del self.llm
