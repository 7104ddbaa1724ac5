"""Prompt-regression evals: cases in YAML, the real agent functions, metrics, and a baseline gate.

``paperbrief eval run`` answers every case with the same code users run (``agent.ask.pipeline``,
``agent.compare.pipeline``, ``agent.brief.pipeline``) against an index built from the case file's corpus,
scores the answers (``evals.metrics``), and writes ``results.json`` and ``report.md``.
``paperbrief eval compare`` puts two runs side by side and fails when a metric drops
beyond the tolerance its case file allows; ``paperbrief eval accept`` makes a run the
committed baseline. Model responses are cached by (model, rendered messages), so an
unchanged prompt costs nothing to re-evaluate and a changed one re-runs exactly the
cases whose messages changed. See ``evals/README.md``.
"""
