"""An OpenAI-compatible endpoint stand-in served on 127.0.0.1, answering with a tiny local transformers model.

Why: tests run the REAL ``openai`` client (its retries, timeouts, parsing) against a server that behaves like vLLM's
OpenAI-compatible server, offline. Routes:

- ``GET /v1/models``: the one model name it serves.
- ``POST /v1/chat/completions``: the messages go through the model's own chat template (``add_generation_prompt``;
  a final assistant message with ``continue_final_message`` is continued, as vLLM does), then greedy generation
  (``max_tokens``, ``stop``) or, with ``logprobs``/``top_logprobs``, the top log-probs of the first token. ``usage``
  counts prompt and generated tokens. A wrong ``Authorization`` answers 401.

Faults for the retry tests: :meth:`OpenAIStub.inject` queues faults that the next chat requests get, one each:
``"429"`` (with ``retry-after-ms``), ``"500"``, ``"503"``, ``"timeout"`` (answers only after ``slow_s``, later
than the client waits) and ``"drop"`` (closes the connection without an answer). ``served_faults`` lists what was
served; ``requests`` counts chat requests; ``auth_headers`` keeps every Authorization header seen; ``bodies``
every chat request body.

Reasoning models (``thinking``, a fixed reasoning text put before every generated answer): ``"field"`` answers as
vLLM with a reasoning parser and DeepSeek's API do (``reasoning_content`` apart, and
``usage.completion_tokens_details.reasoning_tokens``); ``"inline"`` as a server without one (``<think>…</think>``
at the start of ``content``, no reasoning count). The request's ``chat_template_kwargs`` reach the chat template.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class TinyChatModel:
    """Greedy chat completions and first-token top log-probs of a local model folder (one request at a time)."""

    def __init__(self, folder: Path | str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        self.lock = threading.Lock()

    def prompt(self, messages: list[dict[str, str]], continue_final: bool,
               template_kwargs: dict[str, Any] | None = None) -> str:
        kwargs = dict(template_kwargs or {})
        if continue_final and messages and messages[-1]["role"] == "assistant":
            head = self.tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True,
                                                      **kwargs)
            return head + messages[-1]["content"]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)

    def complete(self, prompt: str, max_tokens: int, stop: list[str]) -> tuple[str, str, int, int]:
        """(text, finish_reason, prompt tokens, generated tokens)."""
        ids = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with self.lock, self.torch.no_grad():
            out = self.model.generate(ids, max_new_tokens=max_tokens, do_sample=False,
                                      pad_token_id=self.tokenizer.pad_token_id)
        new = out[0, ids.shape[1]:].tolist()
        ended = bool(new) and new[-1] == self.tokenizer.eos_token_id
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
        if cut >= 0:
            return text[:cut], "stop", ids.shape[1], len(new)
        return text, "stop" if ended or len(new) < max_tokens else "length", ids.shape[1], len(new)

    def top_logprobs(self, prompt: str, k: int) -> tuple[list[tuple[str, float]], int]:
        """([(token text, log-prob)] of the k likeliest first tokens, prompt tokens)."""
        ids = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with self.lock, self.torch.no_grad():
            logits = self.model(ids).logits[0, -1].float()
        logprobs = self.torch.log_softmax(logits, dim=-1)
        values, indices = logprobs.topk(k)
        return [(self.tokenizer.decode([i]), float(v)) for v, i in zip(values.tolist(), indices.tolist())], ids.shape[1]


class OpenAIStub:
    """The server; :meth:`start` it on a free port, :attr:`url` is its base URL (``http://127.0.0.1:N/v1``)."""

    def __init__(self, model_folder: Path | str, model_name: str, api_key: str | None, *, logprobs: bool = True,
                 slow_s: float = 3.0, thinking: tuple[str, str] | None = None):
        self.chat = TinyChatModel(model_folder)
        self.model_name, self.api_key, self.logprobs, self.slow_s = model_name, api_key, logprobs, slow_s
        self.thinking = thinking  # (style "field" | "inline", reasoning text)
        self.bodies: list[dict[str, Any]] = []
        self.faults: deque[str] = deque()
        self.served_faults: list[str] = []
        self.requests = 0
        self.auth_headers: list[str] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @classmethod
    def start(cls, model_folder: Path | str, model_name: str, api_key: str | None, **kwargs: Any) -> "OpenAIStub":
        stub = cls(model_folder, model_name, api_key, **kwargs)
        handler = type("Handler", (_Handler,), {"stub": stub})
        stub.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        stub.server.daemon_threads = True
        threading.Thread(target=stub.server.serve_forever, daemon=True).start()
        return stub

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def inject(self, *faults: str) -> None:
        with self.lock:
            self.faults.extend(faults)

    def next_fault(self) -> str | None:
        with self.lock:
            self.requests += 1
            fault = self.faults.popleft() if self.faults else None
            if fault:
                self.served_faults.append(fault)
            return fault

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The chat completion of one request body."""
        extra_continue = bool(body.get("continue_final_message"))
        prompt = self.chat.prompt(body["messages"], extra_continue, body.get("chat_template_kwargs"))
        logprobs = None
        message: dict[str, Any] = {"role": "assistant"}
        details = None
        if body.get("logprobs") and self.logprobs:
            top, prompt_tokens = self.chat.top_logprobs(prompt, int(body.get("top_logprobs") or 1))
            text, finish, completion_tokens = top[0][0], "length", 1
            entries = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top]
            logprobs = {"content": [{**entries[0], "top_logprobs": entries}]}
        else:
            stop = body.get("stop") or []
            text, finish, prompt_tokens, completion_tokens = self.chat.complete(
                prompt, int(body.get("max_tokens") or 16), [stop] if isinstance(stop, str) else list(stop))
            if self.thinking is not None:
                style, reasoning = self.thinking
                thought = len(self.chat.tokenizer(reasoning, add_special_tokens=False)["input_ids"])
                completion_tokens += thought
                if style == "field":
                    message["reasoning_content"] = reasoning
                    details = {"reasoning_tokens": thought}
                else:
                    text = f"<think>{reasoning}</think>{text}"
        message["content"] = text
        usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                 "total_tokens": prompt_tokens + completion_tokens}
        if details is not None:
            usage["completion_tokens_details"] = details
        return {"id": f"chatcmpl-{self.requests}", "object": "chat.completion", "created": int(time.time()),
                "model": self.model_name,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": logprobs}],
                "usage": usage}


class _Handler(BaseHTTPRequestHandler):
    stub: OpenAIStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        self.stub.auth_headers.append(header)
        if self.stub.api_key is not None and header != f"Bearer {self.stub.api_key}":
            self._send(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                       "code": "invalid_api_key"}})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": self.stub.model_name, "object": "model",
                                                         "created": 0, "owned_by": "stub"}]})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self._authorized():
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        if body.get("model") != self.stub.model_name:
            self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}})
            return
        self.stub.bodies.append(body)
        fault = self.stub.next_fault()
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault == "timeout":
            time.sleep(self.stub.slow_s)
        elif fault == "429":
            self._send(429, {"error": {"message": "Rate limit reached", "type": "requests"}},
                       {"retry-after-ms": "20"})
            return
        elif fault in ("500", "503"):
            self._send(int(fault), {"error": {"message": "server error"}})
            return
        try:
            self._send(200, self.stub.answer(body))
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout fault)
            pass
