"""How a failure is written down: one line on the row or page it concerns, the traceback for organizers.

Shared by execution (an item whose request failed) and scoring (an item whose metric raised), and by the commands
and the worker that end a failed run.
"""
from __future__ import annotations

import traceback


def failure_reason(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 500 characters."""
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:500]


def failure_detail(exc: BaseException) -> str:
    """The traceback kept for organizers when a run fails."""
    return "".join(traceback.format_exception(exc))
