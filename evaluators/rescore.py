"""Re-read a QA sample log with the current scorer, optionally with an LLM choice extractor.

``maple-eval score --rescore`` parses every reply again with :mod:`maple_bench.scoring` (the
rules may have changed since the run: the log keeps the raw reply, the options and the target).
``--llm-extract`` adds VLMEvalKit's idea as an explicit opt-in: a reply the rules leave invalid
is shown, with its options, to the judge model (:mod:`evaluators.captions.judge`, the same
client the caption judge uses), which answers one letter or "Z" for no single option. Its
verdicts are cached in a JSONL file keyed by (judge, prompt, reply, options); every row it
decides carries ``scorer.rule = "llm-extractor"`` and the judge's identity, and the results
record the extractor, so it never acts silently. The rules always run first: the LLM only sees
replies they could not read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evaluators.captions.judge import Judge, JudgeError, VerdictCache, cache_key
from maple_bench.prompts import format_options
from maple_bench.schema import option_letter
from maple_bench.scoring import SCORER_VERSION, parse_reply

EXTRACT_PROMPT_VERSION = "1"
EXTRACT_TEMPLATE = (
    "You read a reply to a multiple-choice question and say which option it chose.\n"
    "Options:\n{options}\n"
    "Reply:\n{reply}\n"
    "Which single option does the reply commit to? If it gives no answer, several answers, "
    "contradicts itself, or refuses, answer Z. Answer with one letter ({letters} or Z) and "
    "nothing else.\nLetter:"
)
"""The extractor prompt (placeholders: options, reply, letters); its hash is recorded."""


def extract_prompt_hash() -> str:
    """sha256[:16] of the extractor prompt and its version."""
    blob = json.dumps([EXTRACT_PROMPT_VERSION, EXTRACT_TEMPLATE])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@dataclass
class ChoiceExtractor:
    """An LLM that reads a reply the rules left invalid (off unless asked for)."""

    judge: Judge
    """The judge client (local model or OpenAI-compatible endpoint)."""
    cache: VerdictCache | None = None
    """Verdict cache (JSONL); the same (judge, prompt, reply, options) is asked once."""
    calls: int = 0
    """Replies sent to the model in this session (cache hits excluded)."""

    def provenance(self) -> dict[str, Any]:
        """What the results record about the extractor."""
        c = self.judge.config
        return {
            "judge_id": c.judge_id,
            "prompt_template": EXTRACT_TEMPLATE,
            "prompt_hash": extract_prompt_hash(),
            "decoding": c.decoding(),
        }

    def extract(self, reply: str, options: Sequence[str]) -> tuple[int | None, str]:
        """(option index or None, the model's raw answer)."""
        c = self.judge.config
        key = cache_key(c.judge_id, extract_prompt_hash(), reply, list(options))
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None:
            raw = str(hit["raw"])
        else:
            letters = ", ".join(option_letter(i) for i in range(len(options)))
            prompt = (
                EXTRACT_TEMPLATE.replace("{options}", format_options(options))
                .replace("{reply}", reply)
                .replace("{letters}", letters)
            )
            raw = self.judge.generate(prompt)
            self.calls += 1
            if self.cache is not None:
                self.cache.put(key, {"raw": raw})
        m = re.fullmatch(r"\W*([A-Za-z])\W*", raw or "")
        if m is None:
            raise JudgeError(f"the choice extractor answered {raw!r}: expected one letter or Z")
        idx = ord(m.group(1).upper()) - ord("A")
        return (idx if 0 <= idx < len(options) else None), raw


def rescore_log(
    df: pd.DataFrame, extractor: ChoiceExtractor | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A copy of a QA log re-read by the current scorer (and the extractor, when given).

    Rows with a media ``error`` and caption rows are kept as they are. Returns the new log and a
    summary: rows whose verdict changed, and what the extractor did.
    """
    out = df.copy()
    changed: list[dict[str, Any]] = []
    n_extracted = 0
    cols: dict[str, list[Any]] = {
        k: list(out[k]) if k in out else [None] * len(out)
        for k in ("parsed_index", "parsed_text", "correct", "invalid", "scorer")
    }
    for i, row in enumerate(out.to_dict("records")):
        err = row.get("error")
        if row.get("task", "qa") != "qa" or (err is not None and err == err):
            continue
        options = list(row["options"])
        reply = row.get("raw_output")
        reply = reply if isinstance(reply, str) else None
        parsed = parse_reply(reply, options)
        idx = parsed.index
        scorer: dict[str, Any] = {"version": SCORER_VERSION, "rule": parsed.rule}
        if idx is None and extractor is not None and reply and reply.strip():
            try:
                idx, raw = extractor.extract(reply, options)
            except JudgeError as e:
                raise JudgeError(f"row {i + 1} (doc_id {row['doc_id']!r}): {e}") from e
            seen = {k: v for k, v in extractor.provenance().items() if k != "prompt_template"}
            scorer = {
                "version": SCORER_VERSION,
                "rule": "llm-extractor",
                "rules_said": parsed.rule,
                "extractor": {**seen, "raw": raw},
            }
            n_extracted += idx is not None
        target = row.get("target_index")
        correct = idx is not None and target is not None and idx == int(target)
        old = bool(row.get("correct")), bool(row.get("invalid"))
        if old != (correct, idx is None):
            changed.append({
                "row": i + 1, "doc_id": row["doc_id"], "draw": row.get("draw"),
                "raw_output": reply, "old_parsed_index": row.get("parsed_index"),
                "new_parsed_index": idx, "old_correct": old[0], "new_correct": correct,
                "rule": scorer["rule"],
            })  # fmt: skip
        cols["parsed_index"][i] = idx
        cols["parsed_text"][i] = options[idx] if idx is not None else None
        cols["correct"][i], cols["invalid"][i], cols["scorer"][i] = correct, idx is None, scorer
    for k, v in cols.items():
        out[k] = pd.Series(v, index=out.index, dtype=object)
    summary: dict[str, Any] = {"scorer_version": SCORER_VERSION, "changed": changed}
    if extractor is not None:
        summary["choice_extractor"] = {
            **extractor.provenance(),
            "n_extracted": n_extracted,
            "n_model_calls": extractor.calls,
        }
    return out, summary
