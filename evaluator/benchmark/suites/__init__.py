"""Benchmark suites: reading, checking, versioning and storing the items a model is evaluated on.

- ``formats/``: one loader per layout (project JSONL, MedBench/OpenCompass JSONL, C-Eval/CMMLU CSV), detected
  per file; ``options``: baked-in options parsed out of question text; ``checks``: per-kind item rules.
- ``reader``: a file, folder or .zip -> items and every problem as ``file:line: reason`` (writes nothing).
- ``version``: the content hash; ``preview``: counts and problems before committing.
- ``importer``: atomic import, ``load_items``, export, activation (the API other packages call).
- ``commands`` (CLI ``eval import-suite`` …), ``uploads`` (organizer page), ``bundled`` (the demo suite).
"""
