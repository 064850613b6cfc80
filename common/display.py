"""Display forms shared by the public pages and the organizer pages, so a number reads the same everywhere."""
from __future__ import annotations

# One meaning of GB on the site, the settings and the planner: the decimal gigabyte (10^9 bytes), as the hub, GPU
# vendors (H100 80 GB) and disk makers quote sizes; KB likewise 10^3 bytes.
GB = 1e9
KB = 1e3


def compact_count(count: float | None) -> str:
    """'205K', '7.2B', '14B' or '' (unknown): raw digits such as 205120 are hard to read."""
    if count is None:
        return ""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            value = count / size
            return (f"{value:.0f}" if value >= 100 else f"{value:.1f}".removesuffix(".0")) + unit
    return str(int(count))


def plural(count: int, noun: str) -> str:
    """'1 evaluation', '2 evaluations' (regular nouns): no "evaluation(s)" on the site."""
    return f"{count} {noun if count == 1 else noun + 's'}"
