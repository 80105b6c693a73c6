"""Strict leaderboard JSON built from maple-eval results files: publish, merge, rank, render.

Reads results files through their JSON schema only; imports nothing else from the toolkit.
"""
