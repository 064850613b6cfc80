"""Retry transient database errors with backoff: a connection cut (server restart, failover, a proxy dropping
idle links, ``pg_terminate_backend``) must not fail an evaluation that has hours of model work behind it.

Only connection-level faults are retried (see :func:`is_transient`); a constraint violation or a bad query fails
at once. Decorate small, self-contained transactions that open their own session (each attempt starts afresh),
and only those safe to run twice: a retry after a commit whose acknowledgement was lost must change nothing
more (conditional updates, inserts guarded by a unique key, reads).
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TypeVar

import psycopg
from sqlalchemy.exc import DBAPIError
from tenacity import before_sleep_log, retry, retry_if_exception, stop_after_delay, wait_exponential

log = logging.getLogger("medbench.db")

RETRY_FOR_S = 120.0  # how long a database may stay unreachable before the operation gives up

F = TypeVar("F", bound=Callable[..., object])


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a lost or refused connection (or SQLite's busy lock), worth trying again."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if isinstance(exc, psycopg.OperationalError):  # connection lost, admin shutdown, server starting up
        return True
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def retry_transient(func: F) -> F:
    """``func`` retried with exponential backoff (0.1 s doubling to 5 s) while it fails with a transient database
    error, for up to RETRY_FOR_S; then the last error is raised."""
    return retry(  # type: ignore[return-value]
        retry=retry_if_exception(is_transient),
        wait=wait_exponential(multiplier=0.1, max=5.0),
        stop=stop_after_delay(RETRY_FOR_S),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )(func)
