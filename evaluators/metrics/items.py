"""From a sample log (one row per (item, draw)) to an item table (one row per item).

This is the only place that knows the log's column names. Draws of the same item are averaged
first (pass@1 estimated from k samples), so every later metric weighs each item once. The result
is a frozen record of plain numpy arrays that the pure math in :mod:`evaluators.metrics.stats`
consumes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maple_bench.modality import ModalityParseError, condition, parse_condition, parse_tag
from maple_bench.schema import NONE_OPTION

REQUIRED_COLUMNS = ("doc_id", "video_id", "rmt", "draw")
"""Columns every sample-log row must carry (plus ``correct`` for QA rows)."""


class SampleLogError(ValueError):
    """A sample log cannot be scored; the message names the file, row id and column."""


@dataclass(frozen=True)
class ItemTable:
    """One entry per item (doc_id), draws already averaged. All arrays have the same length."""

    doc_id: np.ndarray
    """Item ids (str), sorted, so results never depend on the log's row order."""
    video_id: np.ndarray
    """Video of each item (str): the bootstrap cluster."""
    rmt: np.ndarray
    """Canonical required-tag name (str), e.g. ``"VA"``."""
    presentation: np.ndarray
    """Canonical name of the presented streams (str)."""
    condition: np.ndarray
    """``"exact"``, ``"superset"`` or ``"deficit"`` (str)."""
    task: str
    """``"qa"`` or ``"caption"`` (a log holds one task kind)."""
    k: np.ndarray
    """Number of draws of the item (int)."""
    score: np.ndarray
    """Mean per-draw score in [0, 1]; NaN for captions that carry no judge score."""
    invalid: np.ndarray
    """Share of the item's draws whose answer was unparseable (errors excluded)."""
    error: np.ndarray
    """Share of the item's draws that could not be run."""
    qa_plus: np.ndarray
    """True when the item's options include the QA+ None option."""
    target_none: np.ndarray
    """True when the None option is the correct answer (QA+ only)."""
    pred_none: np.ndarray
    """Share of draws that chose the None option (QA+ only, else 0)."""
    pred_content: np.ndarray
    """Share of draws that chose a content (non-None) option (QA+ only, else 0)."""

    def __len__(self) -> int:
        return len(self.doc_id)

    @property
    def n_rows(self) -> int:
        """Number of (item, draw) rows the table was built from."""
        return int(self.k.sum())


def none_index(options: Any) -> int | None:
    """Index of the QA+ None option in ``options`` (exact text, else "none of the above...")."""
    if not isinstance(options, (list, tuple)):
        if isinstance(options, np.ndarray):
            options = options.tolist()
        else:
            return None
    try:
        return options.index(NONE_OPTION)
    except ValueError:
        pass
    for i, o in enumerate(options):
        if isinstance(o, str) and o[:4].lower() == "none" and "of the above" in o.lower():
            return i
    return None


def read_sample_log(path: Path | str) -> pd.DataFrame:
    """Read a JSONL sample log into a DataFrame (a torn last line from a crash is skipped)."""
    from evaluators.samplelog import iter_log

    path = Path(path)
    if not path.exists():
        raise SampleLogError(
            f"{path}: sample log not found; pass the samples_<task>.jsonl a run wrote"
        )
    rows = list(iter_log(path))
    if not rows:
        raise SampleLogError(f"{path}: the sample log is empty; nothing to score")
    df = pd.DataFrame(rows)
    df.attrs["source"] = str(path)
    return df


def as_frame(log: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Accept a DataFrame or an iterable of log rows (dicts)."""
    if isinstance(log, pd.DataFrame):
        return log
    df = pd.DataFrame(list(log))
    if df.empty:
        raise SampleLogError("the sample log has no rows; nothing to score")
    return df


def _where(df: pd.DataFrame, i: int) -> str:
    src = df.attrs.get("source", "sample log")
    return f"{src}: row {i + 1} (doc_id {df['doc_id'].iloc[i]!r})"


def _canonical_tags(
    df: pd.DataFrame, column: str, fallback: np.ndarray | None = None, *, allow_blind: bool = False
) -> np.ndarray:
    """Canonical tag names of a column (parsed once per distinct value; blind is ``"none"``)."""
    values = df[column].tolist()
    try:
        uniq = set(values)
    except TypeError:  # lists such as ["V", "A"]: parse row by row
        uniq = None
    cache: dict[Any, str] = {}
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if fallback is not None and (v is None or v != v):
            out[i] = fallback[i]
            continue
        key = v if uniq is not None else repr(v)
        if key not in cache:
            try:
                cache[key] = parse_tag(v, allow_blind=allow_blind).name or "none"
            except ModalityParseError as e:
                raise SampleLogError(f"{_where(df, i)}, column {column!r}: {e}") from None
        out[i] = cache[key]
    return out


def _flag(values: pd.Series) -> np.ndarray:
    """Booleans from a column that may hold None/NaN (treated as False)."""
    if values.dtype == bool:
        return values.to_numpy()
    return np.asarray([bool(v) if v is not None and v == v else False for v in values], dtype=bool)


def _judge_scores(df: pd.DataFrame, error: np.ndarray) -> np.ndarray:
    """Per-draw caption scores in [0, 1] from the ``judge`` column (NaN when none is judged)."""
    judged = [
        j.get("normalized") if isinstance(j, Mapping) else None
        for j in (df["judge"] if "judge" in df else [None] * len(df))
    ]
    have = np.asarray([j is not None for j in judged])
    if not have.any():
        return np.full(len(df), np.nan)
    missing = ~have & ~error
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise SampleLogError(
            f"{_where(df, i)}, column 'judge': no judge score while other captions have one; "
            f"rescore the whole log with the same judge (maple-eval score --judge ...)"
        )
    out = np.asarray([0.0 if j is None else float(j) for j in judged])
    bad = ~((out >= 0) & (out <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SampleLogError(f"{_where(df, i)}, column 'judge.normalized': must lie in [0, 1]")
    return out


def item_table(log: pd.DataFrame | Iterable[Mapping[str, Any]]) -> ItemTable:
    """Validate a sample log and average its draws into an :class:`ItemTable`."""
    df = as_frame(log).reset_index(drop=True)
    for col in REQUIRED_COLUMNS:
        if col not in df:
            raise SampleLogError(
                f"{df.attrs.get('source', 'sample log')}: column {col!r} is missing; every row "
                f"needs {', '.join(REQUIRED_COLUMNS)} (see CONTRACTS 'Sample log')"
            )
    tasks = set(df["task"].dropna().unique()) if "task" in df else {"qa"}
    if len(tasks) > 1:
        raise SampleLogError(f"the sample log mixes tasks {sorted(tasks)}; score one task per log")
    task = tasks.pop() if tasks else "qa"
    n = len(df)
    dup = df.duplicated(["doc_id", "draw"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise SampleLogError(
            f"{_where(df, i)}: (doc_id, draw={df['draw'].iloc[i]}) appears twice; merge shards "
            f"with evaluators.samplelog.merge_logs or remove the duplicate line"
        )
    rmt = _canonical_tags(df, "rmt")
    pres = (
        _canonical_tags(df, "presentation", fallback=rmt, allow_blind=True)
        if "presentation" in df
        else rmt
    )
    cond = np.empty(n, dtype=object)
    given = df["condition"].tolist() if "condition" in df else [None] * n
    seen: dict[Any, str] = {}
    for i in range(n):
        g = given[i]
        if g is None or (isinstance(g, float) and math.isnan(g)):
            key: Any = (rmt[i], pres[i])
            if key not in seen:
                seen[key] = condition(parse_tag(rmt[i]), parse_tag(pres[i], allow_blind=True)).value
        else:
            key = g
            if key not in seen:
                try:
                    seen[key] = parse_condition(g).value
                except ModalityParseError as e:
                    raise SampleLogError(f"{_where(df, i)}, column 'condition': {e}") from None
        cond[i] = seen[key]
    error = df["error"].notna().to_numpy() if "error" in df else np.zeros(n, bool)
    invalid = (_flag(df["invalid"]) if "invalid" in df else np.zeros(n, bool)) & ~error
    qa_plus = np.zeros(n, bool)
    target_none = np.zeros(n, bool)
    pred_none = np.zeros(n, bool)
    pred_content = np.zeros(n, bool)
    if task == "caption":
        score = _judge_scores(df, error)
        score = np.where(error, 0.0, score)
    else:
        if "correct" not in df:
            raise SampleLogError("column 'correct' is missing; QA rows need it (bool per draw)")
        score = (_flag(df["correct"]) & ~error).astype(float)
        opts = df["options"].tolist() if "options" in df else [None] * n
        ni = np.asarray([none_index(o) for o in opts], dtype=object)
        qa_plus = np.asarray([i is not None for i in ni], dtype=bool)
        ni = np.where(qa_plus, ni, -1).astype(float)

        def numeric(name: str) -> np.ndarray:
            if name not in df:
                return np.full(n, np.nan)
            return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

        tgt, parsed = numeric("target_index"), numeric("parsed_index")
        target_none = qa_plus & (tgt == ni)
        answered = qa_plus & ~error & ~np.isnan(parsed)
        pred_none = answered & (parsed == ni)
        pred_content = answered & (parsed != ni)
    frame = pd.DataFrame(
        {
            "doc_id": df["doc_id"].astype(str).to_numpy(),
            "video_id": df["video_id"].astype(str).to_numpy(),
            "rmt": rmt,
            "presentation": pres,
            "condition": cond,
            "score": score,
            "invalid": invalid.astype(float),
            "error": error.astype(float),
            "qa_plus": qa_plus,
            "target_none": target_none,
            "pred_none": pred_none.astype(float),
            "pred_content": pred_content.astype(float),
        }
    )
    keys = ["doc_id", "video_id", "rmt", "presentation", "condition", "qa_plus", "target_none"]
    if frame["doc_id"].is_unique:
        items = frame.sort_values("doc_id", kind="stable").assign(k=1)
    else:
        if frame.groupby("doc_id")[keys[1:]].nunique().gt(1).any(axis=None):
            bad = frame.groupby("doc_id")[keys[1:]].nunique().gt(1).any(axis=1)
            doc = bad[bad].index[0]
            raise SampleLogError(
                f"{df.attrs.get('source', 'sample log')}: the draws of doc_id {doc!r} disagree on "
                f"video_id/rmt/presentation/condition/target; one item id was reused"
            )
        g = frame.groupby("doc_id", sort=True)
        items = g[keys[1:]].first()
        means = g[["score", "invalid", "error", "pred_none", "pred_content"]].mean()
        items = items.join(means).assign(k=g.size()).reset_index()
    return ItemTable(
        doc_id=items["doc_id"].to_numpy(dtype=object),
        video_id=items["video_id"].to_numpy(dtype=object),
        rmt=items["rmt"].to_numpy(dtype=object),
        presentation=items["presentation"].to_numpy(dtype=object),
        condition=items["condition"].to_numpy(dtype=object),
        task=str(task),
        k=items["k"].to_numpy(dtype=np.int64),
        score=items["score"].to_numpy(dtype=float),
        invalid=items["invalid"].to_numpy(dtype=float),
        error=items["error"].to_numpy(dtype=float),
        qa_plus=items["qa_plus"].to_numpy(dtype=bool),
        target_none=items["target_none"].to_numpy(dtype=bool),
        pred_none=items["pred_none"].to_numpy(dtype=float),
        pred_content=items["pred_content"].to_numpy(dtype=float),
    )
