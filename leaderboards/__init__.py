"""Strict leaderboard JSON built from maple-eval results files: publish, merge, rank, render.

Reads results files through their JSON schema only; imports nothing else from the toolkit.

Pipeline, one module per step:

- ``schema``: the versioned board JSON Schema (``leaderboard.schema.json``), validation with
  field-precise errors, strict JSON reading and atomic writing.
- ``entries``: results file -> board entry (validated against ``evaluators/results/schema.json``,
  located as a file; every copied number type-checked).
- ``publish``: merge entries into a board under the board's lock (:mod:`maple_bench.locks`); refuses mismatched task hash,
  dataset revision or metrics version; same model + revision is replaced (idempotent).
- ``rank``: sort by any metric; entries whose 95% CIs overlap share a rank.
- ``render``: static site (``index.html`` with sortable tables, SVG charts, definitions) and a
  Markdown table.
- ``hub``: model-card ``model-index`` / ``.eval_results`` exports and ``push`` to a Hub dataset
  or Space (``--dry-run`` writes the exact tree).
- ``cli``: ``maple-bench leaderboard publish|validate|rank|render|export-model-index|push``.

Published boards of our own runs live in ``leaderboards/boards/``.
"""
