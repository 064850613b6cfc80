"""The error-tagging rules as a table a visitor can read: name, category, what triggers it.

Why parsed from evaluator.taxonomy's docstring: that docstring is where the evaluator documents each rule's
trigger (``Rule`` itself holds only name, category and a function), so reading it keeps the Methodology page
from drifting; the code markup (``x``) and hard line wraps meant for source readers are removed here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import evaluator.taxonomy as taxonomy

_RULES_HEADING = "Rules, first match wins:"
_NUMBERED = re.compile(r"\s*\d+\.\s+(\w+)\s+(.*)")


class RulesDocError(ValueError):
    """evaluator.taxonomy's docstring no longer lists every rule in the expected layout."""


@dataclass(frozen=True)
class RuleRow:
    name: str
    category: str
    trigger: str
    surface: bool  # also checked on rows without a verdict (no reference answer)
    hard_case: bool  # a judge model may re-tag it


def _plain(text: str) -> str:
    """Docstring prose as plain text: ``code`` markup dropped, wrapped lines joined."""
    return " ".join(text.replace("``", "").split())


def _triggers(doc: str) -> dict[str, tuple[str, str]]:
    """rule name -> (category, trigger) from the numbered list after the rules heading."""
    if _RULES_HEADING not in doc:
        raise RulesDocError(f"evaluator.taxonomy's docstring has no '{_RULES_HEADING}' list")
    categories: dict[str, str] = {}
    lines: dict[str, list[str]] = {}
    current: list[str] = []
    for line in doc.split(_RULES_HEADING, 1)[1].splitlines():
        numbered = _NUMBERED.fullmatch(line)
        if numbered:
            name, rest = numbered.groups()
            category = next((c for c in taxonomy.CATEGORIES if rest.startswith(c)), None)
            if category is None:
                raise RulesDocError(f"rule {name}: no category at the start of {rest!r}")
            categories[name] = category
            current = lines[name] = [rest[len(category):]]
        elif line.strip():
            current.append(line)
    return {name: (categories[name], _plain(" ".join(lines[name]))) for name in categories}


def rule_rows() -> list[RuleRow]:
    """One row per rule of ``taxonomy.RULES``, in checking order; raises RulesDocError when one is undocumented
    or documented under another category."""
    triggers = _triggers(taxonomy.__doc__ or "")
    rows = []
    for rule in taxonomy.RULES:
        if triggers.get(rule.name, ("", ""))[0] != rule.category:
            raise RulesDocError(f"rule {rule.name} ({rule.category}) is not documented in evaluator.taxonomy")
        rows.append(RuleRow(rule.name, rule.category, triggers[rule.name][1], rule.surface,
                            rule.name in taxonomy.HARD_CASE_RULES))
    return rows
