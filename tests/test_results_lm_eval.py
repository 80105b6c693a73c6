"""Our results.json as tools built for lm-evaluation-harness read it: lm-eval's own result schema
(``lm_eval.result_schema.EvalResults``, checked with pydantic) and its ``make_table``.

lm-eval is a test-only dependency (``make install`` puts it in .venv; see requirements-test.txt).
The files checked are real: written by ``maple-eval run`` on a tiny synthetic set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.api import evaluate
from evaluators.tasks.load import generate_synth

pytestmark = pytest.mark.slow

try:
    from lm_eval.result_schema import EvalResults
    from lm_eval.utils import make_table
except ImportError as e:  # pragma: no cover - a broken install must fail, not skip
    raise ImportError(
        f"lm-eval is a test dependency ({e}); run `make install` (it installs lm-eval --no-deps "
        f"plus requirements-test.txt)"
    ) from e


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from maple_bench.data.pipeline import build_dataset

    root = tmp_path_factory.mktemp("lmeval")
    raw = generate_synth(root / "raw", per_tag=1, seed=2, clip_seconds=2.0, width=64, height=48)
    built = root / "ds"
    build_dataset("caption", raw, built, seed=0, link_media=False)
    evaluate(["synth_qa", "synth_qa_plus"], "solver", data=str(raw), output=str(root / "qa"),
             num_workers=0, progress=False)  # fmt: skip
    evaluate("maple_caption", "random", data=str(built), output=str(root / "cap"), num_workers=0,
             progress=False)  # fmt: skip
    return {
        "synth_qa": root / "qa" / "synth_qa" / "results.json",
        "synth_qa_plus": root / "qa" / "synth_qa_plus" / "results.json",
        "maple_caption": root / "cap" / "results.json",
    }


@pytest.mark.parametrize("task", ["synth_qa", "synth_qa_plus", "maple_caption"])
def test_lm_eval_schema_accepts_and_make_table_renders_our_results(
    runs: dict[str, Path], task: str
) -> None:
    from pydantic import TypeAdapter

    doc = json.loads(runs[task].read_text())
    TypeAdapter(EvalResults).validate_python(doc)  # raises listing every field it rejects
    block = doc["results"][task]
    assert block["name"] == task and block["sample_len"] == doc["n-samples"][task]["effective"]
    assert all(v is not None for v in block.values())  # inapplicable metrics are left out
    table = make_table(doc)
    assert task in table and "error_rate" in table and "±" in table
    if task == "maple_caption":
        # Lexical scores have no stderr: rendered without "±" (no null, no "N/A" string).
        assert "bleu4,none" in block and "bleu4_stderr,none" not in block
        line = next(x for x in table.splitlines() if "|bleu4" in x)
        assert "±" not in line
    else:
        assert "per_video_fusion_gain,none" not in block  # caption-only metric: not in QA
    assert all(isinstance(v, (str, bool)) or v is None for v in doc["configs"][task].values())
    assert isinstance(doc["total_evaluation_time_seconds"], str) and isinstance(doc["date"], float)
    # Our own typed definitions stay in the maple block.
    assert isinstance(doc["maple"]["task_config"]["num_frames"], int)
    assert doc["maple"]["definitions"]["avg_acc"]
