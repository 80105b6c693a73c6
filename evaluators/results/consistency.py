"""Internal consistency of a results file: the numbers must agree with each other.

The schema checks types; a hand-edited file can still claim ``avg_acc`` 0.95 while its per-tag
table averages 0.12, or a CI that lies above its value. Here every headline metric that is a
function of the per-tag table is recomputed from it, counts are added up, CIs must bracket
their values, the lm-eval ``results`` block must hold numbers that equal the headline, and no
unknown top-level key may ride along. Omitted metrics and ``"N/A"`` stderr strings (how
lm-evaluation-harness writes an inapplicable metric) are accepted.

Used by ``maple-eval validate`` and by ``leaderboards publish``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from maple_bench.modality import TAG_NAMES

TOL = 1e-6
"""Absolute tolerance: results are written unrounded, so only float noise is forgiven."""

LM_EVAL_TOP_KEYS = frozenset(
    {
        "results", "groups", "group_subtasks", "configs", "versions", "n-shot",
        "higher_is_better", "n-samples", "samples", "config", "git_hash", "date",
        "pretty_env_info", "transformers_version", "lm_eval_version", "upper_git_hash",
        "tokenizer_pad_token", "tokenizer_eos_token", "tokenizer_bos_token", "eot_token_id",
        "max_length", "task_hashes", "model_source", "model_name", "model_name_sanitized",
        "system_instruction", "system_instruction_sha", "fewshot_as_multiturn", "chat_template",
        "chat_template_sha", "start_time", "end_time", "total_evaluation_time_seconds", "maple",
    }
)  # fmt: skip
"""lm-evaluation-harness's top-level keys, plus ours (``maple``); anything else is refused."""

NOT_AVAILABLE = "N/A"

_UNI, _MULTI = TAG_NAMES[:3], TAG_NAMES[3:]
_TABLES = ("by_tag", "by_presentation", "by_condition")
# Headline metrics whose bootstrap distribution is (close to) centred on the point estimate;
# for max/min/abs/ratio metrics a percentile interval may legitimately miss it.
_BRACKETED = ("avg_acc", "avg_acc_present", "micro_acc", "acc_uni", "acc_multi",
              "invalid_rate", "error_rate")  # fmt: skip


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


def _mean(xs: Sequence[float | None]) -> float | None:
    return None if any(x is None for x in xs) else sum(xs) / len(xs)  # type: ignore[misc,arg-type]


def _tag_accs(by_tag: Mapping[str, Any]) -> dict[str, float | None]:
    return {t: _num((by_tag.get(t) or {}).get("acc")) for t in TAG_NAMES}


def recompute_headline(by_tag: Mapping[str, Any]) -> dict[str, float | None]:
    """The headline metrics that follow from the per-tag table alone (None: undefined).

    Same definitions as :func:`evaluators.metrics.stats.derive` (a missing tag makes the
    seven-tag means undefined; ``avg_acc_present`` averages the tags that are there).
    """
    acc = _tag_accs(by_tag)
    present = [a for a in acc.values() if a is not None]
    uni = _mean([acc[t] for t in _UNI])
    multi = _mean([acc[t] for t in _MULTI])
    best_uni = max(acc[t] for t in _UNI) if None not in [acc[t] for t in _UNI] else None  # type: ignore[type-var]
    all_tags = [acc[t] for t in TAG_NAMES]
    counts = [(acc[t], _num((by_tag.get(t) or {}).get("n")) or 0.0) for t in TAG_NAMES]
    total = sum(n for a, n in counts if a is not None)
    out: dict[str, float | None] = {
        "avg_acc": _mean(all_tags),
        "avg_acc_present": sum(present) / len(present) if present else None,
        "acc_uni": uni,
        "acc_multi": multi,
        "uni_multi_gap": abs(uni - multi) if uni is not None and multi is not None else None,
        "modality_spread": (
            max(all_tags) - min(all_tags) if None not in all_tags else None  # type: ignore[type-var,operator]
        ),
        "fusion_gain": multi - best_uni if multi is not None and best_uni is not None else None,
        "micro_acc": (
            sum(a * n for a, n in counts if a is not None) / total if total > 0 else None  # type: ignore[operator]
        ),
    }
    fg = out["fusion_gain"]
    out["fusion_gain_rel"] = fg / best_uni if fg is not None and best_uni else None
    return out


def check_consistency(doc: Mapping[str, Any]) -> list[str]:
    """Every inconsistency as ``"<JSON path>: <problem>"`` (empty list: consistent).

    Expects a schema-valid document (run :func:`evaluators.results.validate_results` first).
    """
    errors: list[str] = []
    extra = sorted(k for k in doc if k not in LM_EVAL_TOP_KEYS)
    if extra:
        errors.append(
            f"$: unknown top-level key(s) {extra}; a results file holds lm-eval's keys and `maple`"
        )
    maple = doc.get("maple") or {}
    headline = maple.get("headline") or {}
    errors += _check_results_block(doc.get("results") or {}, headline)
    if maple.get("task_kind") != "caption":
        errors += _check_headline(maple, headline)
    errors += _check_cis(maple, headline)
    errors += _check_counts(maple)
    return errors


def _check_results_block(results: Mapping[str, Any], headline: Mapping[str, Any]) -> list[str]:
    errors = []
    for task, block in results.items():
        if not isinstance(block, Mapping):
            continue
        for key, value in block.items():
            path = f"$.results['{task}']['{key}']"
            if key in ("alias", "name"):  # lm-eval's task label strings
                continue
            if isinstance(value, str):
                if value == NOT_AVAILABLE and "_stderr" in key:
                    continue
                errors.append(f"{path}: {value!r} is a string; metric values must be numbers")
                continue
            if value is not None and _num(value) is None:
                errors.append(f"{path}: {value!r} is not a finite number")
                continue
            metric, _, _filter = key.partition(",")
            ref = "micro_acc" if metric == "acc" else metric
            want = _num(headline.get(ref))
            if value is not None and want is not None and abs(float(value) - want) > TOL:
                errors.append(f"{path}: {value} differs from maple.headline.{ref} = {want}")
    return errors


def _check_headline(maple: Mapping[str, Any], headline: Mapping[str, Any]) -> list[str]:
    by_tag = maple.get("by_tag") or {}
    if not by_tag:
        return []
    errors = []
    for key, want in recompute_headline(by_tag).items():
        if key not in headline:
            continue  # omitted (inapplicable) metrics are allowed
        got = _num(headline[key])
        if got is None and want is None:
            continue
        if got is None or want is None or abs(got - want) > TOL:
            errors.append(
                f"$.maple.headline.{key}: {headline[key]!r} does not follow from the per-tag "
                f"table (recomputed: {want!r})"
            )
    return errors


MIN_BOOTSTRAP = 200
MIN_CLUSTERS = 5
"""A percentile interval from fewer resamples or clusters may miss its point estimate for real
(a handful of draws all on one side): the bracket check needs at least this many of each."""


def _bracket(path: str, value: Any, lo: Any, hi: Any, *, enough: bool = True) -> list[str]:
    v, a, b = _num(value), _num(lo), _num(hi)
    if a is not None and b is not None and a > b + TOL:
        return [f"{path}: ci_low {a} is above ci_high {b}"]
    if not enough or v is None or a is None or b is None:
        return []
    if not a - TOL <= v <= b + TOL:
        return [f"{path}: the CI [{a}, {b}] does not contain the value {v}"]
    return []


def _check_cis(maple: Mapping[str, Any], headline: Mapping[str, Any]) -> list[str]:
    errors = []
    n_boot = _num((maple.get("bootstrap") or {}).get("n_bootstrap")) or 0.0
    for table in _TABLES:
        for name, e in (maple.get(table) or {}).items():
            if isinstance(e, Mapping):
                enough = n_boot >= MIN_BOOTSTRAP and (_num(e.get("n_videos")) or 0) >= MIN_CLUSTERS
                errors += _bracket(
                    f"$.maple.{table}.{name}", e.get("acc"), e.get("ci_low"), e.get("ci_high"),
                    enough=enough,
                )  # fmt: skip
    cis = maple.get("headline_ci") or {}
    enough = n_boot >= MIN_BOOTSTRAP and (_num(maple.get("n_videos")) or 0) >= MIN_CLUSTERS
    for key, ci in cis.items():
        if not isinstance(ci, Mapping):
            continue
        value = headline.get(key) if key in _BRACKETED else None
        errors += _bracket(
            f"$.maple.headline_ci.{key}", value, ci.get("ci_low"), ci.get("ci_high"), enough=enough
        )
    return errors


def _check_counts(maple: Mapping[str, Any]) -> list[str]:
    n_items = _num(maple.get("n_items"))
    errors = []
    for table in ("by_tag",):  # presentations may include the blind one: not a partition
        rows = maple.get(table) or {}
        if not rows or n_items is None:
            continue
        total = sum(_num((e or {}).get("n")) or 0.0 for e in rows.values())
        if total != n_items:
            errors.append(
                f"$.maple.{table}: counts add up to {total:g} but maple.n_items is {n_items:g}"
            )
    return errors


def check_against(
    doc: Mapping[str, Any], recomputed: Mapping[str, Any], *, close: Callable[[Any, Any], bool]
) -> list[str]:
    """Where ``doc`` differs from ``recomputed`` (the same run rescored from its sample log):
    the headline metrics and the per-tag accuracy and counts."""
    errors = []
    a, b = doc.get("maple") or {}, recomputed.get("maple") or {}
    for key, want in (b.get("headline") or {}).items():
        if key in (a.get("headline") or {}) and not close(a["headline"][key], want):
            errors.append(
                f"$.maple.headline.{key}: {a['headline'][key]!r} but the sample log gives {want!r}"
            )
    for tag, e in (b.get("by_tag") or {}).items():
        mine = (a.get("by_tag") or {}).get(tag) or {}
        for field in ("acc", "n"):
            if field in mine and not close(mine[field], e.get(field)):
                errors.append(
                    f"$.maple.by_tag.{tag}.{field}: {mine[field]!r} but the sample log gives "
                    f"{e.get(field)!r}"
                )
    return errors


def numbers_close(a: Any, b: Any) -> bool:
    """Equal within :data:`TOL` (both null counts as equal)."""
    x, y = _num(a), _num(b)
    if x is None or y is None:
        return x is None and y is None
    return abs(x - y) <= TOL


def sample_log_beside(results_path: str | Path, doc: Mapping[str, Any]) -> Path | None:
    """The sample log named by ``maple.sample_log`` in the results file's folder, if it is there."""
    name = (doc.get("maple") or {}).get("sample_log")
    if not isinstance(name, str) or not name or Path(name).name != name:
        return None  # only a plain file name beside the results counts
    path = Path(results_path).parent / name
    return path if path.is_file() else None


def check_against_log(results_path: str | Path, doc: Mapping[str, Any]) -> list[str]:
    """Rescore the sample log beside ``results_path`` (when there is one) and list every headline
    or per-tag number of ``doc`` it contradicts. Point estimates only: no bootstrap needed."""
    log_path = sample_log_beside(results_path, doc)
    if log_path is None or (doc.get("maple") or {}).get("task_kind") == "caption":
        return []  # caption scores may come from a judge pass the log alone does not replay
    from evaluators.results.build import score_log

    task = (doc.get("maple") or {}).get("task")
    fresh = score_log(log_path, task=task if isinstance(task, str) else None, n_bootstrap=10)
    return [f"{m} ({log_path.name})" for m in check_against(doc, fresh, close=numbers_close)]
