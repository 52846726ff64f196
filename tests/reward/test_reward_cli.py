"""``deepscaler-grpo score``: scored rows, summary, key detection and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepscaler_grpo.cli import main as top_main
from deepscaler_grpo.reward.cli import main


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_score_writes_rows_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"response": "<answer>\\dfrac{3}{4}</answer>", "answer": "0.75"},
        {"response": "\\boxed{142}", "answer": 142.0},
        {"response": "<answer>5</answer>", "answer": ["4", "6"]},
        {"response": "no idea", "answer": "1"},
        {"response": [{"role": "assistant", "content": "<answer>n^2-n</answer>"}], "answer": "n(n-1)"},
    ]
    path = _write(tmp_path / "resp.jsonl", rows)
    assert top_main(["score", str(path), "--no-progress"]) == 0
    scored = [json.loads(line) for line in (tmp_path / "resp.scored.jsonl").read_text().splitlines()]
    assert [r["score"] for r in scored] == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert scored[0]["pred"] == "\\dfrac{3}{4}" and scored[3]["pred"] is None
    summary = json.loads((tmp_path / "resp.summary.json").read_text())
    assert summary["rows"] == 5 and summary["correct"] == 3
    assert summary["accuracy"] == pytest.approx(0.6)
    assert summary["format_rate"] == pytest.approx(0.6)
    assert summary["no_answer"] == 1 and summary["timeouts"] == 0
    assert "accuracy" in capsys.readouterr().out


def test_score_custom_keys_and_paths(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.jsonl", [{"text": "<answer>2</answer>", "meta": {"gold": "2"}}])
    out, summary = tmp_path / "o" / "s.jsonl", tmp_path / "o" / "sum.json"
    code = main([str(path), "--response-key", "text", "--answer-key", "meta.gold", "--output", str(out),
                 "--summary", str(summary), "--no-progress"])
    assert code == 0
    assert json.loads(out.read_text())["acc"] is True
    assert json.loads(summary.read_text())["accuracy"] == 1.0


def test_score_detects_verl_style_keys(tmp_path: Path) -> None:
    row = {"solution_str": "<answer>7</answer>", "reward_model": {"ground_truth": "7"}}
    path = _write(tmp_path / "v.jsonl", [row])
    assert main([str(path), "--no-progress"]) == 0
    assert json.loads((tmp_path / "v.scored.jsonl").read_text())["score"] == 1.0


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "input file not found"),
        ('{"response": "a", "answer": "1"}\n{oops\n', [], ":2: not valid JSON"),
        ('{"text": "a", "answer": "1"}\n', [], "no response key"),
        ('{"response": "a", "answer": "1"}\n{"response": "b"}\n', [], "row 2 has no ground truth"),
        ('[1, 2]\n', [], "expected a JSON object"),
        ('{"response": "a", "answer": "1"}\n', ["--timeout", "0"], "--timeout must be > 0"),
        ('{"response": "a", "answer": "1"}\n', ["--decimal-digits", "-1"], "decimal_digits must be an integer >= 0"),
        ('{"response": "a", "answer": "1"}\n', ["--max-memory-mb", "10"], "max_memory_mb must be an integer >= 256"),
    ],
)
def test_score_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, args: list[str],
                      message: str) -> None:
    path = tmp_path / "in.jsonl"
    if content is not None:
        path.write_text(content)
    assert main([str(path), "--no-progress", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "in.scored.jsonl").exists()


def test_score_policy_flags_and_questions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DEEPSCALER_VERIFIER_DECIMAL_DIGITS", "DEEPSCALER_VERIFIER_WORKERS", "DEEPSCALER_VERIFIER_MAX_MEMORY"):
        monkeypatch.delenv(name, raising=False)
    rows = [
        {"response": "<answer>0.6667</answer>", "answer": "\\frac{2}{3}"},
        {"response": "<answer>3, 1</answer>", "answer": "1, 3", "problem": "List them in increasing order."},
        {"response": "<answer>3, 1</answer>", "answer": "1, 3"},
    ]
    path = _write(tmp_path / "p.jsonl", rows)
    assert main([str(path), "--no-progress"]) == 0
    assert [json.loads(line)["acc"] for line in (tmp_path / "p.scored.jsonl").read_text().splitlines()] == [
        False, False, True]
    summary = json.loads((tmp_path / "p.summary.json").read_text())
    assert summary["policy"]["decimal_digits"] == 0 and summary["policy"]["order_from_prompt"] is True
    assert main([str(path), "--no-progress", "--decimal-digits", "4", "--no-order-from-prompt", "--workers", "1"]) == 0
    assert [json.loads(line)["acc"] for line in (tmp_path / "p.scored.jsonl").read_text().splitlines()] == [
        True, True, True]
    summary = json.loads((tmp_path / "p.summary.json").read_text())
    assert summary["policy"] == {"decimal_digits": 4, "timeout_s": 5.0, "workers": 1, "max_memory_mb": 3072,
                                 "units": True, "order_from_prompt": False}
