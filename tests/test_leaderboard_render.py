"""Render (static site, charts, Markdown), Hub exports (model-index, dry-run push) and the CLI."""

from __future__ import annotations

import html.parser
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from leaderboards.entries import EntryOptions
from leaderboards.hub import eval_results, model_index, push, stage
from leaderboards.publish import publish
from leaderboards.render import markdown_table, render_site
from leaderboards.render.html import csp, script_json
from leaderboards.render.markdown import md_escape
from leaderboards.schema import LeaderboardError, load_board
from tests.test_leaderboard_helpers import make_results, write_results

XSS = "<img src=x onerror=alert(1)>"
EVIL = "</script><script>alert(1)</script> & \u2028|*x*|"


@pytest.fixture(scope="module")
def board_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published board with a normal name, an HTML-injection name and a script-breakout name."""
    tmp = tmp_path_factory.mktemp("board")
    board = tmp / "board.json"
    specs = [("Omni MAPO", 0.8, True), (XSS, 0.5, False), (EVIL, 0.3, True)]
    for i, (name, acc, qa_plus) in enumerate(specs):
        accs = dict.fromkeys(("V", "A", "S", "VA", "VS", "AS", "VAS"), acc)
        r = write_results(tmp / f"r{i}.json", make_results(f"org/m{i}", accs=accs, qa_plus=qa_plus))
        publish([r], board, options=EntryOptions(model_name=name))
    return board


@pytest.fixture(scope="module")
def site(board_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The board rendered once with charts (matplotlib is the slow part): (folder, files)."""
    out = tmp_path_factory.mktemp("site") / "site"
    return out, render_site([load_board(board_path)], out)


class _Collector(html.parser.HTMLParser):
    """Parses the page as a browser's tokenizer would: elements, attributes, script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


@pytest.mark.slow
def test_render_writes_the_site(board_path: Path, site: tuple[Path, list[Path]]) -> None:
    out, files = site
    rel = sorted(p.relative_to(out).as_posix() for p in files)
    assert rel == [
        "LEADERBOARD.md",
        "boards/maple_qa.json",
        "charts/maple_qa_conditions.svg",
        "charts/maple_qa_radar.svg",
        "charts/maple_qa_tags.svg",
        "index.html",
    ]
    page = (out / "index.html").read_text()
    assert (
        "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    )  # no CDN
    for svg in (out / "charts").glob("*.svg"):
        # model names appear only as glyph paths and escaped XML comments: no element or
        # attribute can come from a name
        root = ET.parse(svg).getroot()
        tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
        assert not tags & {"script", "foreignObject", "image", "img", "a", "iframe"}
        assert not any(a.lower().startswith("on") for el in root.iter() for a in el.attrib)
    assert load_board(out / "boards" / "maple_qa.json") == load_board(board_path)


def test_page_escapes_every_string(board_path: Path, tmp_path: Path) -> None:
    render_site([load_board(board_path)], tmp_path / "site", charts=False)
    page = (tmp_path / "site" / "index.html").read_text()
    parsed = _Collector()
    parsed.feed(page)
    assert [t for t, _ in parsed.tags].count(
        "img"
    ) == 0  # no chart images (charts=False), no injected one
    assert [t for t, _ in parsed.tags].count("script") == 2  # the JSON data block and our sorter
    assert all("onerror" not in attrs for _, attrs in parsed.tags)
    assert html.escape(XSS) in page and XSS not in page
    data_script = parsed.scripts[0]
    assert "<" not in data_script and ">" not in data_script and "&" not in data_script
    names = [e["model"]["name"] for e in json.loads(data_script)["boards"][0]["entries"]]
    assert XSS in names and EVIL in names  # the data survives escaping unchanged


def test_script_json_cannot_close_the_script_element() -> None:
    text = script_json({"n": EVIL})
    assert "</script" not in text.lower() and "\u2028" not in text
    assert json.loads(text) == {"n": EVIL}


def test_csp_allows_exactly_the_sorting_script(board_path: Path, tmp_path: Path) -> None:
    import base64
    import hashlib

    render_site([load_board(board_path)], tmp_path / "site", charts=False)
    parsed = _Collector()
    parsed.feed((tmp_path / "site" / "index.html").read_text())
    digest = base64.b64encode(hashlib.sha256(parsed.scripts[1].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp()
    assert "default-src 'none'" in csp()


def test_markdown_table(board_path: Path) -> None:
    md = markdown_table(load_board(board_path))
    lines = md.strip().splitlines()
    assert (
        lines[0]
        == "| Rank | Model | Avg acc | V | A | S | VA | VS | AS | VAS | Uni-multi gap | Fusion gain |"
    )
    assert lines[1].startswith("|---:|:---|---:|")
    assert lines[2].startswith("| 1 | Omni MAPO @r1 | 80.0 | 80.0 |")
    assert lines[3].startswith(f"| 2 | {md_escape(XSS)} @r1 | 50.0 |")
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    # a pipe in a name must not add a column
    assert all(line.count("|") - line.count("\\|") == 13 for line in lines)


def test_model_index_export(board_path: Path) -> None:
    mi = model_index(load_board(board_path), "Omni MAPO", source_url="https://example.org/lb")
    (item,) = mi["model-index"]
    assert item["name"] == "Omni MAPO"
    metrics = {m["name"]: m for r in item["results"] for m in r["metrics"]}
    assert metrics["avg_acc"] == {
        "type": "accuracy",
        "value": 80.0,
        "name": "avg_acc",
        "verified": False,
    }
    assert metrics["acc_VAS"]["value"] == 80.0 and metrics["acc_deficit"]["value"] == 40.0
    r0 = item["results"][0]
    assert r0["task"]["type"] == "multiple-choice"
    assert r0["dataset"]["type"] == "lihVerma/MAPLE-bench" and r0["dataset"]["revision"] == "dsrev1"
    assert r0["source"] == {"name": "maple-bench leaderboard", "url": "https://example.org/lb"}
    # round-trips through huggingface_hub's own model-card parser
    from huggingface_hub import ModelCard

    card = ModelCard("---\n" + yaml.safe_dump(mi) + "---\n# card\n")
    assert {r.metric_name: r.metric_value for r in card.data.eval_results}["avg_acc"] == 80.0
    ev = eval_results(load_board(board_path), "Omni MAPO")
    assert ev == [
        {
            "dataset": {"id": "lihVerma/MAPLE-bench", "task_id": "maple_qa"},
            "value": 80.0,
            "source": {"name": "maple-bench leaderboard"},
            "date": "2025-11-25",
        }
    ]
    with pytest.raises(LeaderboardError, match="no entry for model 'nope'"):
        model_index(load_board(board_path), "nope")


@pytest.mark.parametrize(
    ("repo_type", "expected"),
    [
        (
            "space",
            ["LEADERBOARD.md", "README.md", "boards/maple_qa.json", "charts/maple_qa_conditions.svg",
             "charts/maple_qa_radar.svg", "charts/maple_qa_tags.svg", "index.html"],
        ),
        (
            "dataset",
            ["README.md", "boards/maple_qa.json", "site/LEADERBOARD.md", "site/boards/maple_qa.json",
             "site/charts/maple_qa_conditions.svg", "site/charts/maple_qa_radar.svg",
             "site/charts/maple_qa_tags.svg", "site/index.html"],
        ),
    ],
)  # fmt: skip
def test_dry_run_push_tree(
    site: tuple[Path, list[Path]], tmp_path: Path, repo_type: str, expected: list[str]
) -> None:
    dest = tmp_path / "tree"
    plan = push([site[0]], repo_id="org/maple-leaderboard", repo_type=repo_type, dry_run=dest)
    assert list(plan.files) == expected
    on_disk = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert on_disk == expected
    readme = (dest / "README.md").read_text()
    front = yaml.safe_load(readme.split("---")[1])
    if repo_type == "space":
        assert front["sdk"] == "static" and front["app_file"] == "index.html"
    assert "| 1 | Omni MAPO @r1 |" in readme
    assert (dest / ("index.html" if repo_type == "space" else "site/index.html")).read_bytes() == (
        site[0] / "index.html"
    ).read_bytes()
    with pytest.raises(LeaderboardError, match="not empty"):
        push([site[0]], repo_id="org/x", repo_type=repo_type, dry_run=dest)


@pytest.mark.slow
def test_push_from_board_files_renders_the_same_tree(
    board_path: Path, site: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    (site[0] / ".hidden").write_text("not for upload")
    try:
        a = stage([site[0]], tmp_path / "a", repo_id="o/r", repo_type="space")
    finally:
        (site[0] / ".hidden").unlink()
    b = stage([board_path], tmp_path / "b", repo_id="o/r", repo_type="space")
    assert a.files == b.files and ".hidden" not in a.files
    assert (tmp_path / "a" / "README.md").read_text() == (tmp_path / "b" / "README.md").read_text()


def test_push_uploads_the_staged_tree(
    site: tuple[Path, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --dry-run, push creates the repo and uploads exactly the dry-run tree (the Hub
    client is replaced by a recorder: tests never touch the network)."""
    import huggingface_hub

    calls: list[tuple[str, dict]] = []

    class RecordingApi:
        def __init__(self, token: str | None = None) -> None:
            calls.append(("init", {"token": token}))

        def create_repo(self, repo_id: str, **kw: object) -> None:
            calls.append(("create_repo", {"repo_id": repo_id, **kw}))

        def upload_folder(self, *, folder_path: str, **kw: object) -> None:
            files = sorted(
                p.relative_to(folder_path).as_posix()
                for p in Path(folder_path).rglob("*")
                if p.is_file()
            )
            calls.append(("upload_folder", {**kw, "files": files}))

    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingApi)
    plan = push([site[0]], repo_id="org/lb", repo_type="space")
    assert [c[0] for c in calls] == ["init", "create_repo", "upload_folder"]
    assert calls[1][1]["space_sdk"] == "static" and calls[1][1]["exist_ok"] is True
    assert calls[2][1]["files"] == list(plan.files) and calls[2][1]["repo_type"] == "space"


def test_cli_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from maple_bench.cli import main

    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_value")
    r1 = write_results(tmp_path / "a.json", make_results("org/a"))
    r2 = write_results(
        tmp_path / "b.json",
        make_results("org/b", accs=dict.fromkeys(("V", "A", "S", "VA", "VS", "AS", "VAS"), 0.9)),
    )
    board = tmp_path / "board.json"
    assert (
        main(
            [
                "leaderboard",
                "publish",
                str(r1),
                str(r2),
                "--board",
                str(board),
                "--title",
                "MAPLE-QA",
            ]
        )
        == 0
    )
    assert "board" in capsys.readouterr().out
    assert main(["leaderboard", "validate", str(board)]) == 0
    assert "ok" in capsys.readouterr().out
    assert (
        main(["leaderboard", "render", str(board), "--out", str(tmp_path / "site"), "--no-charts"])
        == 0
    )
    assert (tmp_path / "site" / "index.html").exists()
    assert "MAPLE-QA" in (tmp_path / "site" / "LEADERBOARD.md").read_text()
    capsys.readouterr()
    assert main(["leaderboard", "export-model-index", str(board), "--model", "org/b"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["model-index"][0]["name"] == "org/b"
    assert (
        main(
            [
                "leaderboard",
                "push",
                str(board),
                "--repo-id",
                "o/r",
                "--dry-run",
                str(tmp_path / "tree"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("would upload") and "index.html" in out
    # the token is never printed nor written
    everything = out + "".join(
        p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file()
    )
    assert "hf_secret_token_value" not in everything
    bad = tmp_path / "bad.json"
    doc = json.loads(board.read_text())
    doc["entries"][1]["headline"]["avg_acc"] = "90%"  # OmniBench-style string in a number column
    bad.write_text(json.dumps(doc))
    assert main(["leaderboard", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "entries[1].headline.avg_acc" in err


def test_caption_board_is_labelled_judge_score(tmp_path: Path) -> None:
    doc = make_results("org/captioner", task="maple_caption")
    doc["maple"].update(task_kind="caption", primary_score="judge_score")
    publish([write_results(tmp_path / "c.json", doc)], tmp_path / "caption.json")
    board = load_board(tmp_path / "caption.json")
    assert board["primary_score"] == "judge_score"
    render_site([board], tmp_path / "site", charts=False)
    page = (tmp_path / "site" / "index.html").read_text()
    assert "<h3>Judge score by required modality tag</h3>" in page and "Accuracy by" not in page
    qa = make_results("org/qa", task="maple_caption")  # same task name, but scored as accuracy
    with pytest.raises(LeaderboardError, match="primary score 'accuracy'"):
        publish([write_results(tmp_path / "q.json", qa)], tmp_path / "caption.json")
