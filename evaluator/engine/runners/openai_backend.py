"""A runner for models served behind an OpenAI-compatible endpoint (a vendor's API, or the organizers' own vLLM or
SGLang), through the real ``openai`` client.

Why messages and not a local chat template: a served model applies its own template on the server, and a closed
model's template is unknown. Prompts still arrive as final strings (``evaluator.benchmark.prompts``): this runner's
``tokenizer`` is :class:`MessagesTemplate`, whose "chat template" writes the messages as JSON, so the stored prompt
(``ItemResult.prompt``) is exactly what was sent. Text after the JSON (the "答案：" cue of letter scoring) is sent
as the start of the assistant's answer (``continue_final_message``, as vLLM and SGLang accept).

Retries: the client's own (``max_retries``: exponential backoff on 429, 5xx, timeouts and dropped connections,
honouring ``Retry-After``). Concurrency: ``concurrency`` requests in flight (threads; the client is thread-safe).
Every response's ``usage`` is counted, so a run stores its tokens and, from the prices in the decoding settings,
its cost. The API key is given to the client only: it is never part of ``info``, an error message or a log line.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import openai

from evaluator.engine.runners.base import (ChoiceRequest, Generation, GenerationRequest, Interrupted, ModelLoadError,
                                           RequestError, RunnerInfo, check_interrupt, cut_at_stop)

TOP_LOGPROBS = 20  # the most top log-probs OpenAI-compatible endpoints return per token
MAX_STOP = 4  # OpenAI's limit on stop strings
PROBE_TIMEOUT_S = 10.0
MESSAGES_TEMPLATE = "openai-chat-messages"  # the "chat template" of a served model: messages as JSON


class MessagesTemplate:
    """Stands in for a tokenizer in prompt building: the "chat template" writes the messages (and any template
    arguments, e.g. ``enable_thinking``, sent as ``chat_template_kwargs``) as one JSON object."""

    chat_template = MESSAGES_TEMPLATE

    def apply_chat_template(self, messages: list[dict[str, str]], tokenize: bool = False,
                            add_generation_prompt: bool = True, **kwargs: Any) -> str:
        payload: dict[str, Any] = {"messages": messages}
        if kwargs:
            payload["chat_template_kwargs"] = kwargs
        return json.dumps(payload, ensure_ascii=False)


def parse_prompt(prompt: str) -> tuple[list[dict[str, str]], dict[str, Any], str]:
    """(messages, chat_template_kwargs, answer prefix) of a prompt built with :class:`MessagesTemplate`; a prompt
    written without a chat template (``use_chat_template=False``) is one user message."""
    try:
        payload, end = json.JSONDecoder().raw_decode(prompt)
    except json.JSONDecodeError:
        return [{"role": "user", "content": prompt}], {}, ""
    if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
        return [{"role": "user", "content": prompt}], {}, ""
    return payload["messages"], dict(payload.get("chat_template_kwargs") or {}), prompt[end:]


def plain_api_error(exc: BaseException, retries: int) -> str:
    """An API failure in words (never the request, whose headers hold the key); ``retries`` the client made."""
    tries = f" (tried {retries + 1} times)"
    if isinstance(exc, openai.APITimeoutError):
        return "the endpoint did not answer in time" + tries
    if isinstance(exc, openai.APIConnectionError):
        return "the endpoint could not be reached" + tries
    if isinstance(exc, openai.AuthenticationError):
        return "the endpoint refused the API key (HTTP 401): check MEDBENCH_API_KEY_<NAME>"
    if isinstance(exc, openai.APIStatusError):
        retried = exc.status_code in (408, 409, 429) or exc.status_code >= 500
        return f"the endpoint answered HTTP {exc.status_code}" + (tries if retried else "")
    return f"the endpoint's answer could not be read ({type(exc).__name__})"


def make_client(endpoint: str, api_key: str | None, *, timeout: float, max_retries: int) -> openai.OpenAI:
    """The client of one endpoint. A served model without a key (an organizers' own vLLM) sends a placeholder."""
    return openai.OpenAI(base_url=endpoint, api_key=api_key or "none", timeout=timeout, max_retries=max_retries)


@dataclass(frozen=True)
class Probe:
    """What an endpoint says about a model: the names it serves, and whether it returns top log-probs."""

    models: list[str]
    logprobs: bool


def probe_endpoint(endpoint: str, api_key: str | None, model_name: str, *, timeout: float = PROBE_TIMEOUT_S) -> Probe:
    """``GET /v1/models``, then one one-token completion asking for top log-probs. Raises ModelLoadError (plain
    reason) when the endpoint does not answer or does not serve ``model_name``."""
    client = make_client(endpoint, api_key, timeout=timeout, max_retries=1)
    try:
        models = [m.id for m in client.models.list()]
    except openai.OpenAIError as exc:
        raise ModelLoadError(f"{endpoint}: {plain_api_error(exc, 1)}") from None
    if model_name not in models:
        raise ModelLoadError(f"{endpoint} does not serve a model named {model_name!r} (it serves: "
                             f"{', '.join(models[:10]) or 'none'})")
    try:
        answer = client.chat.completions.create(model=model_name, messages=[{"role": "user", "content": "1+1="}],
                                                max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=5)
    except openai.BadRequestError:  # an endpoint that refuses the logprobs parameters
        return Probe(models, logprobs=False)
    except openai.OpenAIError as exc:
        raise ModelLoadError(f"{endpoint}: {plain_api_error(exc, 1)}") from None
    content = answer.choices[0].logprobs.content if answer.choices and answer.choices[0].logprobs else None
    return Probe(models, logprobs=bool(content and content[0].top_logprobs))


class OpenAIRunner:
    """The Runner (``evaluator.engine.runners.base``) of a served model: ``generate`` always, ``letter_scores``
    only where the endpoint returns top log-probs (the run spec refuses letter scoring otherwise)."""

    name = "openai"

    def __init__(self, endpoint: str, model_name: str, api_key: str | None, *, decoding: dict[str, Any] | None = None,
                 concurrency: int = 8, timeout: float = 120.0, max_retries: int = 8):
        self.endpoint, self.model_name = endpoint, model_name
        self.decoding = dict(decoding or {})
        self.concurrency = concurrency
        self.client = make_client(endpoint, api_key, timeout=timeout, max_retries=max_retries)
        self.max_retries = max_retries
        self.tokenizer = MessagesTemplate()
        self.interrupt: Callable[[], str | None] | None = None
        self._lock = threading.Lock()
        self.info = RunnerInfo(backend="openai", device="api", dtype="n/a", model_path=endpoint, settings={
            "endpoint": endpoint, "model_name": model_name, "concurrency": concurrency, "timeout_s": timeout,
            "max_retries": max_retries, "decoding": self.decoding, "openai": openai.__version__},
            counters={"requests": 0, "prompt_tokens": 0, "completion_tokens": 0})

    # ----- requests ----------------------------------------------------------------------------------------------
    def _sampling(self) -> dict[str, Any]:
        """Decoding settings sent with every request (greedy unless the organizers set otherwise)."""
        params: dict[str, Any] = {"temperature": float(self.decoding.get("temperature", 0.0))}
        for key in ("top_p", "seed"):
            if self.decoding.get(key) is not None:
                params[key] = self.decoding[key]
        return params

    def _complete(self, prompt: str, max_tokens: int, stop: list[str] | None, *,
                  logprobs: bool = False) -> tuple[Any, Any]:
        """(the first choice, the usage) of one chat completion; the usage is added to the run's counters. Chat
        template arguments (e.g. ``enable_thinking``) travel as ``chat_template_kwargs`` in the body, as vLLM and
        SGLang read them."""
        messages, template_kwargs, prefix = parse_prompt(prompt)
        extra: dict[str, Any] = {}
        if template_kwargs:
            extra["chat_template_kwargs"] = template_kwargs
        if prefix:
            messages = [*messages, {"role": "assistant", "content": prefix}]
            extra.update(continue_final_message=True, add_generation_prompt=False)
        kwargs: dict[str, Any] = dict(model=self.model_name, messages=messages, max_tokens=max_tokens,
                                      **self._sampling())
        if stop:
            kwargs["stop"] = stop[:MAX_STOP]
        if logprobs:
            kwargs.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        if extra:
            kwargs["extra_body"] = extra
        response = self.client.chat.completions.create(**kwargs)
        usage = response.usage
        with self._lock:
            self.info.counters["requests"] += 1
            if usage is not None:
                self.info.counters["prompt_tokens"] += int(usage.prompt_tokens or 0)
                self.info.counters["completion_tokens"] += int(usage.completion_tokens or 0)
        if not response.choices:
            raise ValueError("no choices in the answer")
        return response.choices[0], usage

    def _map(self, call: Callable[[Any], Any], requests: Iterable[Any]) -> list[Any]:
        """``call`` on every request, ``concurrency`` at a time, in order; the runner's ``interrupt`` is checked as
        answers arrive (a reason drops the batch). A request failing after its retries raises RequestError."""
        requests = list(requests)
        results: list[Any] = [None] * len(requests)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="openai-runner") as pool:
            futures: dict[Future, int] = {pool.submit(call, r): i for i, r in enumerate(requests)}
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                    check_interrupt(self.interrupt)
                    for future in done:
                        index = futures[future]
                        try:
                            results[index] = future.result()
                        except openai.OpenAIError as exc:
                            raise RequestError(index, plain_api_error(exc, self.max_retries)) from None
                        except (ValueError, TypeError, AttributeError) as exc:
                            raise RequestError(index, f"the endpoint's answer could not be read: {exc}") from None
            except (Interrupted, RequestError):
                for future in pending:
                    future.cancel()
                raise
        return results

    # ----- the Runner protocol -----------------------------------------------------------------------------------
    def generate(self, prompts: list[str], max_new_tokens: int, stop: list[str] | None = None) -> list[str]:
        """Greedy answers of ``prompts`` (one chat completion each), cut at the first stop string."""
        answers = self._map(lambda p: self._complete(p, max_new_tokens, stop), prompts)
        return [cut_at_stop(choice.message.content or "", stop) for choice, _ in answers]

    def generate_requests(self, requests: list[GenerationRequest]) -> list[Generation]:
        """The ``generate`` protocol's call: each request's answer with its finish reason and generated tokens
        (``settled`` is not asked: a chat completion cannot be stopped part-way)."""
        def one(request: GenerationRequest) -> Generation:
            choice, usage = self._complete(request.prompt, request.max_new_tokens, request.stop)
            return completion_generation(choice, usage, request.stop)

        return self._map(one, requests)

    def letter_scores(self, requests: list[ChoiceRequest]) -> list[dict[str, float]]:
        """Per request, letter -> log-prob of the answer's first token, from the endpoint's top log-probs. A letter
        outside the top ``TOP_LOGPROBS`` gets the lowest log-prob returned (an upper bound of its own)."""
        answers = self._map(lambda r: self._complete(r.prompt, 1, None, logprobs=True), requests)
        out = []
        for index, (request, (choice, _)) in enumerate(zip(requests, answers)):
            content = choice.logprobs.content if choice.logprobs is not None else None
            if not content or not content[0].top_logprobs:
                raise RequestError(index, "the endpoint returned no top log-probs: this model can only be evaluated "
                                          "under the generate protocol")
            top: dict[str, float] = {}
            for entry in content[0].top_logprobs:
                token = entry.token.strip()
                top[token] = max(top.get(token, float("-inf")), float(entry.logprob))
            floor = min(float(e.logprob) for e in content[0].top_logprobs)
            out.append({letter: top.get(letter, floor) for letter in request.letters})
        return out

    def usage(self, before: dict[str, Any] | None = None) -> dict[str, Any]:
        """Tokens and cost of this run so far (``before``: what earlier attempts of a resumed run counted)."""
        return api_usage(self.info.counters, self.decoding, before)

    def close(self) -> None:
        self.client.close()


def completion_generation(choice: Any, usage: Any, stop: list[str] | None) -> Generation:
    """The engine's :class:`Generation` of one chat completion choice.

    Reasoning returned apart from the answer (``reasoning_content``, as DeepSeek's API and vLLM/SGLang reasoning
    parsers send it; ``reasoning`` in newer vLLM) is kept as the reasoning; reasoning tokens are the usage's
    ``completion_tokens_details.reasoning_tokens`` where the endpoint reports them. Finish reason "length" (the
    budget ran out) stays "length", which the extractor reads as truncated; any other ending is "stop"."""
    message = choice.message
    reasoning = getattr(message, "reasoning_content", None) or getattr(message, "reasoning", None)
    details = getattr(usage, "completion_tokens_details", None) if usage is not None else None
    reasoning_tokens = getattr(details, "reasoning_tokens", None) if details is not None else None
    tokens = int(usage.completion_tokens or 0) if usage is not None else 0
    finish = "length" if choice.finish_reason == "length" else "stop"
    return Generation(cut_at_stop(message.content or "", stop), finish, tokens,
                      reasoning=reasoning if isinstance(reasoning, str) else None,
                      reasoning_tokens=int(reasoning_tokens) if reasoning_tokens else None)  # 0: none reported


def api_usage(counters: dict[str, int], decoding: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """Requests, tokens and cost (prices per 1M tokens in ``decoding``), added to a resumed run's earlier count."""
    before = before if isinstance(before, dict) else {}
    totals = {key: int(before.get(key, 0)) + int(counters.get(key, 0))
              for key in ("requests", "prompt_tokens", "completion_tokens")}
    price_in = float(decoding.get("price_input_per_1m", 0.0) or 0.0)
    price_out = float(decoding.get("price_output_per_1m", 0.0) or 0.0)
    cost = (totals["prompt_tokens"] * price_in + totals["completion_tokens"] * price_out) / 1e6
    return {**totals, "cost": round(cost, 6), "currency": str(decoding.get("currency", "USD")),
            "price_input_per_1m": price_in, "price_output_per_1m": price_out}
