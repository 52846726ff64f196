"""deepscaler-grpo compare: paired comparison of two evaluations built here as files (no model), with a known
number of problems flipping each way; refusals on mismatched settings; checkpoints without an evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from deepscaler_grpo.evaluation import compare_cli
from deepscaler_grpo.evaluation.compare import compare, load_pair
from deepscaler_grpo.evaluation.metrics import summarize

PROBLEMS = [(f"Problem {i}: what is {i} + 1?", str(i + 1)) for i in range(40)]


def write_eval(folder: Path, right: list[list[bool]], *, problems: list[tuple[str, str]] = PROBLEMS,
               bench: str = "toy", **changes: Any) -> Path:
    """An eval output folder as ``eval`` writes it: summary.json and ``<bench>.jsonl`` with the given verdicts
    (``right[i][j]``: sample j of problem i); ``changes`` override generation / policy / prompt fields."""
    folder.mkdir(parents=True)
    records = [{"accs": accs, "formats": [True] * len(accs)} for accs in right]
    n = len(right[0])
    generation = {"n": n, "temperature": 0.6 if n > 1 else 0.0, "top_p": 1.0, "max_tokens": 64, "seed": 0,
                  "benchmarks": {bench: "hash"}}
    policy = {"decimal_digits": 0, "timeout_s": 5.0, "workers": None, "max_memory_mb": 3072, "units": True,
              "order_from_prompt": True}
    prompt = {"instruction_templates_sha256": ["t"], "system_prompts_sha256": []}
    for key, value in changes.items():
        target = generation if key in generation else policy if key in policy else prompt
        target[key] = value
    summary = {"format": "deepscaler-grpo eval 2", "run": {"model": "m", "adapter": f"runs/x/{folder.name}/adapter",
               "benchmarks": [bench], "n": n, "temperature": 0.0, "top_p": 1.0, "max_tokens": 64, "seed": 0},
               "generation": generation, "scoring": {"policy": policy}, "provenance": {"prompt": prompt},
               "benchmarks": {bench: summarize(records)}}
    (folder / "summary.json").write_text(json.dumps(summary))
    lines = [{"index": i, "sample": j, "problem": problem, "answer": answer, "response": "", "acc": acc}
             for i, ((problem, answer), accs) in enumerate(zip(problems, right)) for j, acc in enumerate(accs)]
    (folder / f"{bench}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder


def greedy(right: set[int], count: int = 40) -> list[list[bool]]:
    return [[i in right] for i in range(count)]


def test_flips_difference_and_exact_p_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A solves 0-19, B solves 5-29: B gained 20-29 (10 problems) and lost 0-4 (5)
    a = write_eval(tmp_path / "global_step_10", greedy(set(range(20))))
    b = write_eval(tmp_path / "global_step_20", greedy(set(range(5, 30))))
    out = tmp_path / "cmp"
    assert compare_cli.main([str(a), str(b), "--output-dir", str(out)]) == 0
    result = json.loads((out / "compare.json").read_text())["benchmarks"]["toy"]
    assert result["problems"] == 40
    assert result["gained"] == [PROBLEMS[i][0] for i in range(20, 30)]
    assert result["lost"] == [PROBLEMS[i][0] for i in range(5)]
    assert result["difference"]["estimate"] == pytest.approx((25 - 20) / 40)
    # McNemar's exact test with 10 vs 5 discordant problems
    assert result["p_value"] == pytest.approx(2 * sum(math.comb(15, i) for i in range(6)) / 2**15)
    assert result["difference"]["ci_low"] < 0 < result["difference"]["ci_high"]  # 5 net flips of 40: not significant
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "+10 / -5" in printed and "global_step_10" in printed and "global_step_20" in printed
    assert "toy + solved by B only (10): Problem 20" in printed and "(+5 more in compare.json)" in printed


def test_several_samples_flip_by_majority(tmp_path: Path) -> None:
    # 4 samples: problem 0 goes 1/4 -> 3/4 (flips up), problem 1 goes 2/4 -> 1/4 (flips down), 2 goes 0/4 -> 1/4 (no)
    a = [[True, False, False, False], [True, True, False, False], [False] * 4] + [[True] * 4] * 37
    b = [[True, True, True, False], [True, False, False, False], [True, False, False, False]] + [[True] * 4] * 37
    result = compare(*load_pair(write_eval(tmp_path / "a", a), write_eval(tmp_path / "b", b)))
    toy = result.benchmarks["toy"]
    assert toy.gained == [PROBLEMS[0][0]] and toy.lost == [PROBLEMS[1][0]]
    assert toy.paired.difference.estimate == pytest.approx((0.5 - 0.25 + 0.25) / 40)
    # differences in quarters +2, -1, +1 (sum 2): of the 8 sign patterns, |sum| >= 2 for 4, 2, 2, -2, -2, -4
    assert toy.paired.p_value == pytest.approx(6 / 8)


@pytest.mark.parametrize(("change", "message"), [
    ({"temperature": 0.7}, "temperature: 0.0 in A, 0.7 in B"),
    ({"max_tokens": 32}, "max_tokens: 64 in A, 32 in B"),
    ({"decimal_digits": 4}, "verifier decimal_digits: 0 in A, 4 in B"),
    ({"instruction_templates_sha256": ["other"]}, "prompt instruction templates"),
    ({"problems": [(f"Other {i}", "1") for i in range(40)]}, "problems of toy"),
])
def test_refuses_evaluations_that_differ_unless_forced(change: dict, message: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    a = write_eval(tmp_path / "a", greedy({1, 2}))
    b = write_eval(tmp_path / "b", greedy({2, 3}), **change)
    out = tmp_path / "cmp"
    assert compare_cli.main([str(a), str(b), "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "--force" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    if "problems" in change:
        return  # forced, no problem in common: nothing to pair
    assert compare_cli.main([str(a), str(b), "--output-dir", str(out), "--force"]) == 0
    assert f"forced: {message}" in capsys.readouterr().out
    assert json.loads((out / "compare.json").read_text())["forced_differences"]


def test_checkpoint_without_an_evaluation_gets_the_eval_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    (run / "global_step_5" / "adapter").mkdir(parents=True)
    (run / "config.yaml").write_text("actor_rollout_ref:\n  model:\n    path: models/base\n")
    a = write_eval(tmp_path / "base", greedy({1}))
    assert compare_cli.main([str(a), str(run / "global_step_5"), "--output-dir", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    step = run / "global_step_5"
    assert (f"run: deepscaler-grpo eval --model models/base --adapter {step / 'adapter'} --benchmarks toy --n 1 "
            f"--temperature 0.0 --top-p 1.0 --max-tokens 64 --seed 0 --output-dir {step / 'eval'}") in err
    # once evaluated there, the checkpoint compares as its evaluation
    write_eval(step / "eval", greedy({1, 2}))
    assert compare_cli.main([str(a), str(step), "--output-dir", str(tmp_path / "cmp")]) == 0
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["benchmarks"]["toy"]["gained"] == [PROBLEMS[2][0]]


def test_output_folder_is_checked_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("x")
    assert compare_cli.main(["missing_a", "missing_b", "--output-dir", str(foreign)]) == 2
    assert "holds other files" in capsys.readouterr().err  # before looking at A and B
    assert compare_cli.main([str(tmp_path / "nope"), str(tmp_path / "nope"), "--output-dir", str(tmp_path / "c")]) == 2
    assert "does not exist" in capsys.readouterr().err
