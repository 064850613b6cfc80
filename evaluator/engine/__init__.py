"""The engine: run specs, model fetching, runners, execution and scoring of a run, the planner, placement, Ray and
progress. Knows nothing of queues or workers."""
