"""The benchmark's definition: tasks, items, prompts, option permutations, taxonomy, metrics and suites. What the public pages may read."""
