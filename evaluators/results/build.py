"""Build the results JSON (lm-evaluation-harness skeleton + the ``maple`` block) from a log.

The sample log is the ground truth: :func:`build_results` needs nothing from the model run except
the provenance/config dicts, so :func:`score_log` can redo the scoring later from
``samples_<task>.jsonl`` and the ``run_meta.json`` the runner writes beside it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluators.metrics import (
    DEFINITIONS,
    HEADLINE_NAMES,
    HIGHER_IS_BETTER,
    METRICS_VERSION,
    bootstrap,
    cluster_sums,
    item_table,
    read_sample_log,
)
from evaluators.metrics.bootstrap import BootstrapResult
from evaluators.metrics.definitions import CI_LEVEL
from evaluators.metrics.items import as_frame
from evaluators.metrics.stats import COL, CONDITIONS
from maple_bench.modality import TAG_NAMES

RUN_META = "run_meta.json"
"""Sidecar the runner writes beside the sample log: task, task_config, provenance, config, timing."""

_DATASET_KEYS = ("repo_id", "revision", "config", "split", "ids_hash", "content_hash")
_MODEL_KEYS = ("id", "revision", "dtype", "adapter")
_PROV_KEYS = ("prompt_hash", "chat_template_hash", "git_hash", "prompt_version", "scorer_version")
_CONFIG_KEYS = ("model", "model_args", "batch_size", "device")


def num(x: Any) -> float | None:
    """A finite float, or None for NaN/inf/None (JSON has no NaN; missing is null)."""
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _jsonable(obj: Any) -> Any:
    """Round-trip through JSON so the results hold only plain JSON types (NaN -> null)."""

    def default(o: Any) -> Any:
        if isinstance(o, (np.integer,)):
            return int(o)
        if isinstance(o, (np.floating,)):
            return num(o)
        if isinstance(o, (np.ndarray, tuple, set, frozenset)):
            return list(o)
        if isinstance(o, Path):
            return str(o)
        return str(o)

    def clean(o: Any) -> Any:
        if isinstance(o, float):
            return num(o)
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, list):
            return [clean(v) for v in o]
        return o

    return clean(json.loads(json.dumps(obj, default=default)))


def normalize_provenance(provenance: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fill every contracted provenance key (null when unknown); extra keys are kept."""
    p = dict(provenance or {})
    ds = dict(p.get("dataset") or {})
    for k in _DATASET_KEYS:
        ds.setdefault(k, None)
    model = dict(p.get("model") or {})
    for k in _MODEL_KEYS:
        model.setdefault(k, None)
    p["dataset"], p["model"] = ds, model
    p["media"] = dict(p.get("media") or {})
    p.setdefault("seeds", {})
    p["versions"] = dict(p.get("versions") or {})
    for k in _PROV_KEYS:
        p.setdefault(k, None)
    return _jsonable(p)


def _table_entry(br: BootstrapResult, name: str, n: int, n_videos: int) -> dict[str, Any]:
    lo, hi = br.ratio_ci(name)
    return {
        "acc": num(br.point_ratios[COL[name]]),
        "n": int(n),
        "n_videos": int(n_videos),
        "ci_low": num(lo),
        "ci_high": num(hi),
    }


def _caption_block(df: pd.DataFrame, items) -> dict[str, Any]:
    """Lexical scores overall and per tag, plus the judge's identity (None if unjudged)."""
    from evaluators.captions.lexical import cider_d, corpus_bleu, corpus_rouge_l

    cands = [c if isinstance(c, str) else "" for c in df.get("raw_output", [None] * len(df))]
    refs = [list(r) if isinstance(r, (list, tuple)) else [] for r in df["references"]]
    if any(not r for r in refs):
        i = next(i for i, r in enumerate(refs) if not r)
        raise ValueError(
            f"caption row {i + 1} (doc_id {df['doc_id'].iloc[i]!r}): column 'references' is empty; "
            f"lexical metrics need reference captions"
        )
    groups = df["video_id"].astype(str).tolist()
    cd = np.asarray(cider_d(cands, refs, groups=groups))
    from maple_bench.modality import parse_tag

    tags = np.asarray([parse_tag(t).name for t in df["rmt"]])
    by_tag: dict[str, Any] = {}
    for t in TAG_NAMES:
        idx = np.flatnonzero(tags == t)
        if idx.size == 0:
            by_tag[t] = {"bleu4": None, "rouge_l": None, "cider_d": None, "n": 0}
            continue
        c = [cands[i] for i in idx]
        r = [refs[i] for i in idx]
        by_tag[t] = {
            "bleu4": num(corpus_bleu(c, r)),
            "rouge_l": num(corpus_rouge_l(c, r)),
            "cider_d": num(cd[idx].mean()),
            "n": int(idx.size),
        }
    overall = {
        "bleu4": num(corpus_bleu(cands, refs)),
        "rouge_l": num(corpus_rouge_l(cands, refs)),
        "cider_d": num(cd.mean()),
        "n": len(cands),
    }
    judges = {}
    for j in df.get("judge", [None] * len(df)):
        if isinstance(j, Mapping):
            key = (j.get("judge_id"), j.get("prompt_hash"))
            judges[key] = {
                "judge_id": j.get("judge_id"),
                "prompt_hash": j.get("prompt_hash"),
                "decoding": j.get("decoding"),
                "scale": j.get("scale"),
            }
    if len(judges) > 1:
        raise ValueError(
            f"the caption log mixes judges/prompts {sorted(map(str, judges))}; rescore it with one"
        )
    return {
        "lexical": {"overall": overall, "by_tag": by_tag},
        "judge": next(iter(judges.values())) if judges else None,
    }


def build_results(
    log: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    task: str,
    task_config: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    timing: Mapping[str, Any] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    sample_log: str | None = None,
) -> dict[str, Any]:
    """Score a sample log into a results dict (validate/write it with :func:`write_results`)."""
    t0 = time.perf_counter()
    df = as_frame(log)
    items = item_table(df)
    sums = cluster_sums(items)
    br = bootstrap(sums, n_bootstrap=n_bootstrap, seed=seed)
    qa_plus = bool(items.qa_plus.any())

    vcode = np.searchsorted(sums.clusters, items.video_id.astype(str))

    def entry(name: str, mask: np.ndarray) -> dict[str, Any]:
        return _table_entry(br, name, int(mask.sum()), int(np.unique(vcode[mask]).size))

    by_tag = {t: entry(f"tag:{t}", items.rmt == t) for t in TAG_NAMES}
    by_pres = {t: entry(f"pres:{t}", items.presentation == t) for t in TAG_NAMES}
    by_cond = {}
    if qa_plus:
        for c in CONDITIONS:
            by_cond[c] = entry(f"cond:{c}", items.qa_plus & (items.condition == c))
    headline = {k: num(br.point[k]) for k in HEADLINE_NAMES}
    headline_ci = {}
    for k in HEADLINE_NAMES:
        lo, hi = br.ci(k)
        headline_ci[k] = {"ci_low": num(lo), "ci_high": num(hi), "stderr": num(br.stderr(k))}

    captions = _caption_block(df, items) if items.task == "caption" else None
    # lm-eval's task block: name, alias, sample_len, then "metric,filter" numbers. A metric that
    # does not apply to this task (null) is left out, as lm-eval does. A stderr that cannot be
    # computed is left out too: lm-eval's make_table then prints no "±", and its result schema
    # (numbers only) accepts the block, which it would not with lm-eval's own "N/A" string.
    task_results: dict[str, Any] = {"name": task, "alias": task, "sample_len": len(items)}
    metrics: dict[str, tuple[Any, Any]] = {"acc": (headline["micro_acc"],
                                                   headline_ci["micro_acc"]["stderr"])}  # fmt: skip
    for k in HEADLINE_NAMES:
        metrics[k] = (headline[k], headline_ci[k]["stderr"])
    if captions is not None:
        for k in ("bleu4", "rouge_l", "cider_d"):
            metrics[k] = (captions["lexical"]["overall"][k], None)
    choice = _choice_block(df)
    if choice is not None:
        metrics["acc_norm"] = (choice["acc_norm"], choice["acc_norm_stderr"])
    for k, (value, stderr) in metrics.items():
        if num(value) is None:
            continue
        task_results[f"{k},none"] = value
        if num(stderr) is not None:
            task_results[f"{k}_stderr,none"] = stderr

    prov = normalize_provenance(provenance)
    cfg = dict(config or {})
    for k in _CONFIG_KEYS:
        cfg.setdefault(k, None)
    timing_d = dict(timing or {})
    timing_d["scoring_seconds"] = round(time.perf_counter() - t0, 6)
    tcfg = dict(task_config or {})
    version = tcfg.get("version")
    total_time = timing_d.get("total_seconds", timing_d.get("total_evaluation_time_seconds"))
    now = time.time()
    draws = items.k
    results = {
        "results": {task: task_results},
        "groups": {},
        "configs": {task: lm_eval_config(tcfg)},
        "versions": {task: version if isinstance(version, (int, float, str)) else None},
        "n-shot": {task: int(tcfg.get("num_fewshot", 0) or 0)},
        "higher_is_better": {
            task: {
                m.split(",")[0]: HIGHER_IS_BETTER.get(m.split(",")[0], True)
                for m in task_results
                if "," in m and "_stderr," not in m
            }
        },  # fmt: skip
        "n-samples": {
            task: {
                "original": int(tcfg.get("n_original", len(items)) or len(items)),
                "effective": len(items),
            }
        },
        "config": lm_eval_run_config(cfg),
        "git_hash": prov.get("git_hash"),
        "date": _start_time(timing_d, now),
        "model_name": (cfg.get("model_name") or prov["model"].get("id")),
        "chat_template_sha": prov.get("chat_template_hash"),
        # lm-eval writes the wall time as a string.
        "total_evaluation_time_seconds": None if num(total_time) is None else str(num(total_time)),
        "maple": {
            "metrics_version": METRICS_VERSION,
            "task": task,
            "task_kind": items.task,
            "qa_plus": qa_plus,
            "primary_score": "judge_score" if items.task == "caption" else "accuracy",
            "chance_acc": chance_accuracy(df) if items.task != "caption" else None,
            "definitions": dict(DEFINITIONS),
            "n_items": len(items),
            "n_rows": items.n_rows,
            "n_videos": int(sums.n_clusters),
            "draws_per_item": {
                "min": int(draws.min()),
                "max": int(draws.max()),
                "mean": float(draws.mean()),
            },
            "bootstrap": {
                "n_bootstrap": int(n_bootstrap),
                "seed": int(seed),
                "cluster": "video_id",
                "ci_level": CI_LEVEL,
                "method": "percentile",
            },
            "by_tag": by_tag,
            "by_presentation": by_pres,
            "by_condition": by_cond,
            "headline": headline,
            "headline_ci": headline_ci,
            "captions": captions,
            "choice_scoring": choice,
            "task_config": tcfg,
            "run_config": cfg,
            "provenance": prov,
            "timing": timing_d,
            "sample_log": sample_log,
        },
    }
    # lm-eval types git_hash and model_name as strings: an unknown one is left out, not null.
    for key in ("git_hash", "model_name"):
        if results[key] is None:
            del results[key]
    if results["total_evaluation_time_seconds"] is None:
        del results["total_evaluation_time_seconds"]
    return _jsonable(results)


def chance_accuracy(df: pd.DataFrame) -> float | None:
    """Expected accuracy of a uniform guess: the mean over items of 1 / number of options.

    Drawn as the chance line on accuracy charts. None when the log carries no options.
    """
    if "options" not in df or "doc_id" not in df or df.empty:
        return None
    first = df.drop_duplicates("doc_id")["options"]
    counts = [len(o) for o in first if isinstance(o, (list, tuple, np.ndarray)) and len(o)]
    if not counts:
        return None
    return float(np.mean([1.0 / n for n in counts]))


def _choice_block(df: pd.DataFrame) -> dict[str, Any] | None:
    """Log-likelihood scoring (``--scoring loglikelihood``): lm-eval's ``acc`` and ``acc_norm``
    over every (item, draw) record (a failed record counts as wrong), with their standard
    errors (sample standard deviation / sqrt(n), as lm-eval's ``mean_stderr``)."""
    if "choice" not in df or not any(isinstance(c, Mapping) for c in df["choice"]):
        return None
    acc, acc_norm = [], []
    for c, target in zip(df["choice"], df["target_index"]):
        ok = isinstance(c, Mapping) and target is not None and not pd.isna(target)
        acc.append(float(ok and int(c["pick"]) == int(target)))
        acc_norm.append(float(ok and int(c["pick_norm"]) == int(target)))

    def stderr(x: list[float]) -> float | None:
        return float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else None

    return {"n": len(acc), "acc": float(np.mean(acc)), "acc_stderr": stderr(acc),
            "acc_norm": float(np.mean(acc_norm)), "acc_norm_stderr": stderr(acc_norm)}  # fmt: skip


def lm_eval_value(value: Any) -> str | bool | None:
    """A config value as lm-eval types it (string, boolean or null): numbers become strings,
    objects and lists compact JSON (the typed originals stay in the ``maple`` block)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return str(num(value)) if isinstance(value, float) else str(value)
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"))


def lm_eval_config(config: Mapping[str, Any]) -> dict[str, str | bool | None]:
    """A task config for lm-eval's ``configs`` block."""
    return {str(k): lm_eval_value(v) for k, v in config.items()}


def lm_eval_run_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run config for lm-eval's ``config`` block: ``model_args`` as its ``k=v,k=v`` string,
    ``batch_size`` / ``device`` as strings, ``limit`` a number; other keys as given."""
    out = dict(config)
    args = out.get("model_args")
    if isinstance(args, Mapping):
        out["model_args"] = ",".join(f"{k}={v}" for k, v in args.items())
    for key in ("batch_size", "device"):
        if out.get(key) is not None:
            out[key] = str(out[key])
    limit = out.get("limit")
    if isinstance(limit, Mapping):
        out["limit"] = limit.get("value")
    return out


def _start_time(timing: Mapping[str, Any], default: float) -> float:
    """lm-eval's ``date``: the run's start as a UNIX timestamp (now when not recorded)."""
    start = timing.get("start_time")
    if isinstance(start, (int, float)) and not isinstance(start, bool) and math.isfinite(start):
        return float(start)
    return default


def read_run_meta(log_path: Path | str) -> dict[str, Any]:
    """The runner's ``run_meta.json`` beside the log, or ``{}`` when there is none."""
    meta = Path(log_path).parent / RUN_META
    if not meta.exists():
        return {}
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{meta}: not valid JSON ({e}); fix or remove it") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{meta}: expected a JSON object with task, task_config, provenance, config"
        )
    return data


def task_from_log_name(path: Path | str) -> str | None:
    """``samples_<task>.jsonl`` -> ``<task>``."""
    name = Path(path).name
    if name.startswith("samples_") and name.endswith(".jsonl"):
        return name[len("samples_") : -len(".jsonl")]
    return None


def score_log(
    log_path: Path | str,
    *,
    task: str | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    log: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Recompute the results from a sample log alone (plus ``run_meta.json`` if present)."""
    log_path = Path(log_path)
    meta = read_run_meta(log_path)
    df = log if log is not None else read_sample_log(log_path)
    task = task or meta.get("task") or task_from_log_name(log_path) or "maple"
    return build_results(
        df,
        task=task,
        task_config=meta.get("task_config") or {},
        provenance=meta.get("provenance") or {},
        config=meta.get("config") or {},
        timing=meta.get("timing") or {},
        n_bootstrap=n_bootstrap,
        seed=seed,
        sample_log=log_path.name,
    )
