"""Benchmark suites: loaders for MedBench/OpenCompass JSONL, C-Eval/CMMLU CSV and the project JSONL; import."""
