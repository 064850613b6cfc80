"""The password rule: long enough, not built on the user's own name, and hard to guess by zxcvbn's estimate.

zxcvbn (Dropbox's estimator) scores a password 0-4 from the guesses an attacker needs, knowing common passwords,
words, names, keyboard patterns, repeats and dates; a hand-written blacklist would miss most of those. Score 3
("safely unguessable") means about 10^8 guesses or more: with argon2 hashing and the sign-in throttle
(``submissions.throttle``) that holds online and makes a stolen database slow to crack.
"""
from __future__ import annotations

import threading

from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 256
MIN_SCORE = 3
_SCORED_CHARS = 72  # zxcvbn refuses longer input; a strong start keeps a long passphrase strong
_lock = threading.Lock()  # zxcvbn keeps the user inputs in a module global: one estimate at a time


def password_problem(password: str, *, username: str, email: str | None = None) -> str | None:
    """Why ``password`` is refused for ``username`` (one line for the person choosing it), or None when it is
    acceptable."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"Password: at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Password: at most {MAX_LENGTH} characters."
    name = (username or "").strip().casefold()
    if name and name in password.casefold():
        return "Password: must not contain your user name."
    own_words = [word for word in (name, (email or "").split("@")[0].casefold()) if word]
    with _lock:
        result = zxcvbn(password[:_SCORED_CHARS], user_inputs=own_words)
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    hints = " ".join(part for part in [feedback.get("warning") or "", *feedback.get("suggestions", [])] if part)
    return f"Password: too easy to guess. {hints or 'Use a longer phrase of uncommon words.'}".strip()
