"""The benchmark: suites and importers, prompts, model runners, option permutations, scoring, error taxonomy, worker."""

EVALUATOR_VERSION = "0.1.0"
