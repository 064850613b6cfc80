"""The benchmark: suites and importers, prompts, model runners, option permutations, scoring, error taxonomy, worker."""

EVALUATOR_VERSION = "0.1.0"

from common.db import register_tables  # noqa: E402  (the storage layer learns the schema from the packages)

register_tables(f"{__name__}.tables")
