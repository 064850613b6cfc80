"""Answer protocols (spec section 7): how a choice answer is obtained. Part of the benchmark's definition, so the
public pages can name and select protocols without importing the engine that runs them."""
from __future__ import annotations

from typing import Literal

AnswerProtocol = Literal["generate", "logprob"]
OFFICIAL_PROTOCOL: AnswerProtocol = "generate"  # what the leaderboard ranks by default (spec section 7)
PROTOCOLS: tuple[AnswerProtocol, ...] = ("generate", "logprob")
DEFAULT_REASONING_BUDGET = 4096  # tokens a reasoning model may think, on top of the task's answer length
