"""The benchmark: suites and importers, prompts, model runners, option permutations, scoring, error taxonomy, worker."""

# Bump whenever scoring of stored outputs changes: the worker then re-scores every finished run without the model.
# 0.2.0: answer protocols (generate / logprob), reasoning split from answers, robustness over readable answers.
EVALUATOR_VERSION = "0.2.0"

from common.db import register_tables  # noqa: E402  (the storage layer learns the schema from the packages)

register_tables(f"{__name__}.tables")
