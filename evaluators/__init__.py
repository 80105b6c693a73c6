"""Evaluation of omni-modal models on MAPLE tasks: adapters, the runner, scoring, metrics, CLI.

Uses :mod:`maple_bench` for data, media, presentations and the scorer; never the reverse.
"""
