"""deepscaler_grpo.demo.pipeline and demo_data: the problem set, the pass/fail rule, and a quick end-to-end run."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import pytest

from deepscaler_grpo.demo.pipeline import DemoConfig, DemoError, prepare_output_dir
from deepscaler_grpo.demo.problems import (
    ANSWER_TYPES,
    FAMILIES,
    answer_kind,
    answer_type_counts,
    make_problem,
    make_problem_set,
    negate,
    teacher_answer,
)
from deepscaler_grpo.demo.report import bar_message, check_bar, exit_code

# ------------------------------------------------------------------------------------- problem set


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("41", "integer"),
        ("-7", "negative"),
        ("-3/4", "fraction"),
        ("5/12", "fraction"),
        ("0.5", "decimal"),
        ("-12.3", "decimal"),
    ],
)
def test_answer_type(answer: str, expected: str) -> None:
    assert answer_kind(answer) == expected


def test_problem_set_is_disjoint_balanced_and_mixes_answer_types() -> None:
    train, heldout = make_problem_set(400, 80, seed=3)
    assert len(train) == 400 and len(heldout) == 80
    assert not {p.problem for p in train} & {p.problem for p in heldout}
    assert {p.family: 0 for p in heldout}.keys() == set(FAMILIES)
    assert sum(p.family == "opposite" for p in heldout) == 20  # families in equal turns
    counts = answer_type_counts(train)
    assert set(counts) == set(ANSWER_TYPES)
    assert all(counts[kind] >= 30 for kind in ANSWER_TYPES), counts


def test_problem_set_is_deterministic_per_seed() -> None:
    assert make_problem_set(50, 10, seed=1) == make_problem_set(50, 10, seed=1)
    assert make_problem_set(50, 10, seed=1) != make_problem_set(50, 10, seed=2)


@pytest.mark.parametrize("family", FAMILIES)
def test_answers_are_right_and_mistakes_are_wrong(family: str) -> None:
    rng = random.Random(0)
    for _ in range(200):
        p = make_problem(rng, family)
        numbers = [
            Fraction(tok.rstrip("?,.")) for tok in p.problem.split() if tok.rstrip("?,.").lstrip("-")[:1].isdigit()
        ]
        value = Fraction(p.answer)
        if family == "opposite":
            assert value == -numbers[0] and p.mistake == negate(p.answer)
        elif family == "larger":
            assert value == max(numbers) and p.mistake in p.problem and min(numbers) < 0 < max(numbers)
        elif family == "fraction":
            assert value == numbers[0] / numbers[1] and Fraction(p.mistake) == 1 / value
        else:
            assert value == numbers[1] and p.mistake == p.answer


def test_unknown_family_and_impossible_request_fail_clearly() -> None:
    with pytest.raises(ValueError, match="unknown problem family 'sum'"):
        make_problem(random.Random(0), "sum")
    # "fraction" has ~2 x 550 distinct problems: asking for 5000 must stop with a message, not loop forever
    with pytest.raises(ValueError, match="ask for fewer"):
        make_problem_set(5000, 0, seed=0, families=("fraction",))


def test_teacher_mistake_rate() -> None:
    rng = random.Random(0)
    p = make_problem(random.Random(1), "opposite")
    answers = [teacher_answer(p, rng, 0.6) for _ in range(2000)]
    assert 0.55 < answers.count(p.mistake) / len(answers) < 0.65
    assert teacher_answer(p, rng, 0.0) == p.answer


# -------------------------------------------------------------------------------------------- the bar


@pytest.mark.parametrize(
    ("before", "after", "bar", "enforce", "passed", "code"),
    [
        (0.40, 0.55, 0.10, True, True, 0),
        (0.40, 0.50, 0.10, True, True, 0),  # exactly 10 points passes
        (0.40, 0.49, 0.10, True, False, 1),
        (0.60, 0.50, 0.10, True, False, 1),  # got worse
        (0.40, 0.45, 0.10, False, False, 0),  # quick mode: reported, not enforced
    ],
)
def test_verdict_and_exit_code(before: float, after: float, bar: float, enforce: bool, passed: bool, code: int) -> None:
    result = check_bar(before, after, bar)
    assert result.passed is passed
    assert result.improvement == pytest.approx(after - before)
    assert exit_code(result, enforce) == code
    assert ("did NOT" in result.message) is (not passed)


def test_a_gain_within_noise_says_so() -> None:
    result = check_bar(0.25, 0.50, 0.10, quick=True)  # the real-model --quick run: 8 problems, 2 fixed
    noisy = {"p_value": 0.5, "problems": 8}
    assert bar_message(result, noisy, enforce=False) == (
        "GRPO raised held-out accuracy 25.0% -> 50.0% (+25.0 points) (p = 0.500 on 8 problems: not distinguishable "
        "from noise) (quick mode: bar not enforced)")
    clear = {"p_value": 0.0001, "problems": 196}
    assert bar_message(check_bar(0.378, 0.969, 0.10), clear, enforce=True) == (
        "GRPO raised held-out accuracy 37.8% -> 96.9% (+59.1 points)")
    assert "noise" not in bar_message(check_bar(0.5, 0.4, 0.10), noisy, enforce=True)  # a loss is not "a gain"


def test_config_checks_say_how_to_fix() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        DemoConfig(rollout_n=1)
    with pytest.raises(ValueError, match="probability"):
        DemoConfig(mistake_rate=1.5)


def test_output_dir_refuses_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DemoError, match="not a demo output folder"):
        prepare_output_dir(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


# ------------------------------------------------------------------------------------ end to end


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole pipeline through the CLI; an impossible bar (101 points) must give exit status 1."""
    import pyarrow.parquet as pq

    from deepscaler_grpo.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--output-dir", str(out), "--min-improvement", "101"]) == 1
    printed = capsys.readouterr().out
    assert "did NOT raise held-out accuracy by 101 points" in printed

    # the parquet came through `prepare`: verl columns, ground truths, the default instruction
    train = pq.read_table(out / "data" / "train.parquet").to_pylist()
    val = pq.read_table(out / "data" / "val.parquet").to_pylist()
    assert len(val) == 24 and 140 <= len(train) <= 160
    row = train[0]
    assert row["reward_model"]["ground_truth"] == row["answer"] and row["ability"] == "math"
    assert "<answer>" in row["prompt"][-1]["content"] and row["problem"] in row["prompt"][-1]["content"]
    assert json.loads((out / "data" / "prepare_report.json").read_text())

    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["passed"] is False and summary["grpo_steps"] == 2
    for side in ("before", "after"):
        assert 0.0 <= summary[side]["pass@1"] <= 1.0 and 0.0 <= summary[side]["format_rate"] <= 1.0
        assert summary[side]["num_problems"] == 24
    assert all(summary["answer_types"][kind] > 0 for kind in ANSWER_TYPES)
    # the paired test of the table: after - before on the same problems, flips counted from the two eval files
    before = {x["problem"]: x["acc"] for x in map(json.loads, (out / "eval_before.jsonl").read_text().splitlines())}
    after = {x["problem"]: x["acc"] for x in map(json.loads, (out / "eval_after.jsonl").read_text().splitlines())}
    paired = summary["paired"]
    assert paired["difference"] == pytest.approx(summary["after"]["pass@1"] - summary["before"]["pass@1"])
    assert paired["fixed"] == sum(after[p] and not before[p] for p in before)
    assert paired["broken"] == sum(before[p] and not after[p] for p in before)
    assert paired["ci_low"] <= paired["difference"] <= paired["ci_high"] and 0 < paired["p_value"] <= 1
    assert "paired test on the same 24 problems" in printed
    assert summary["after"]["pass@1_ci_low"] <= summary["after"]["pass@1"] <= summary["after"]["pass@1_ci_high"]
    assert (out / "grpo_run" / "global_step_2" / "adapter" / "adapter_config.json").exists()
    metrics = [json.loads(line) for line in (out / "grpo_run" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "critic/score/mean" in m] == [1, 2]
    plots = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert "overview.png" in plots and len(plots) >= 3
    assert len((out / "eval_after.jsonl").read_text().splitlines()) == 24

    # a second run reuses its own folder (outputs replaced, no resume of the old GRPO run), but never deletes a file
    # the demo did not write there (a user's plots of its run)
    mine = out / "grpo_run" / "plots" / "reward.png"
    mine.parent.mkdir()
    mine.write_bytes(b"my plot")
    capsys.readouterr()
    assert main(["demo", "--quick", "--output-dir", str(out)]) == 2
    assert "holds files the last demo did not write (grpo_run/plots/reward.png)" in capsys.readouterr().err
    assert mine.read_bytes() == b"my plot"
    mine.unlink()
    assert main(["demo", "--quick", "--output-dir", str(out)]) == 0


def test_collate_scores_only_the_completion() -> None:
    from deepscaler_grpo.demo.model import collate

    batch = collate([([5, 6, 7], [8, 9]), ([5], [8])], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9], [5, 8, 0, 0, 0]]
    assert batch["labels"].tolist() == [[-100, -100, -100, 8, 9], [-100, 8, -100, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]


@pytest.mark.parametrize("cfg", [DemoConfig(), DemoConfig(prompts_per_step=4, rollout_n=4, grpo_steps=2)])
def test_grpo_config_is_a_valid_train_config(cfg: DemoConfig, tmp_path: Path) -> None:
    """The demo's command line passes the trainer's own config checks (keys, batch geometry)."""
    from deepscaler_grpo.demo.pipeline import grpo_config
    from deepscaler_grpo.training.mapping import optimizer_steps_per_step

    train_cfg = grpo_config(cfg, tmp_path / "data", tmp_path / "sft", tmp_path / "run")
    rollout = train_cfg.actor_rollout_ref.rollout
    assert (rollout.n, rollout.name, rollout.temperature) == (cfg.rollout_n, "hf", cfg.temperature)
    assert train_cfg.trainer.total_training_steps == cfg.grpo_steps
    assert train_cfg.actor_rollout_ref.model.path == str(tmp_path / "sft")
    assert optimizer_steps_per_step(train_cfg) == 1  # one rollout batch, one optimizer step
