"""deepscaler_grpo.training.metrics: verl's names, the console line, and per-phase timing that adds up."""

from __future__ import annotations

import pytest

from deepscaler_grpo.training.metrics import (
    PHASES,
    PhaseTimer,
    console_line,
    generation_share,
    to_verl_metrics,
    validation_due,
)


def test_trl_names_become_verls() -> None:
    renamed = to_verl_metrics({"reward": 0.5, "completions/mean_length": 12.0, "kl": 0.01, "learning_rate": 1e-5, "other": 1})
    assert renamed == {"critic/score/mean": 0.5, "response_length/mean": 12.0, "actor/kl_loss": 0.01, "actor/lr": 1e-5, "other": 1}


def test_console_line() -> None:
    row = {"step": 2, "critic/score/mean": 0.5, "response_length/mean": 12.0, "actor/kl_loss": 0.01, "actor/lr": 1e-5,
           "timing_s/step": 3.25, "val/accuracy": 0.25}
    assert console_line(row, 50) == "step 2/50 | score 0.500 | len 12 | kl 1.00e-02 | lr 1.0e-05 | 3.2s | val/acc 0.250"
    timed = {**row, "timing_s/gen": 1.0, "timing_s/reward": 0.3, "timing_s/update_actor": 1.9}
    assert generation_share(timed) == pytest.approx(1.3 / 3.25)
    assert console_line(timed, 50).endswith("| 3.2s | gen 40% | val/acc 0.250")
    with_interval = {**timed, "val/accuracy_ci_low": 0.125, "val/accuracy_ci_high": 0.4}
    assert console_line(with_interval, 50).endswith("| gen 40% | val/acc 0.250 [0.125, 0.400]")


@pytest.mark.parametrize(("step", "test_freq", "stage_end", "due"), [
    (10, 0, None, True),  # the last step
    (4, 2, None, True), (5, 2, None, False), (5, 0, None, False),
    (3, 0, 3, True), (3, 2, 3, True), (4, 0, 3, False),  # a length-schedule stage ends at step 3
])
def test_validation_is_due_every_test_freq_at_the_end_and_at_stage_boundaries(
    step: int, test_freq: int, stage_end: int | None, due: bool
) -> None:
    assert validation_due(step, 10, test_freq, stage_end) is due


def test_validation_metrics_carry_eval_interval() -> None:
    from deepscaler_grpo.evaluation.intervals import mean_interval
    from deepscaler_grpo.training.validation import validation_metrics

    scores = [1.0, 0.0, 0.5, 1.0, 1.0]
    expected = mean_interval(scores, 2)
    assert validation_metrics(scores, 2) == {"val/accuracy": 0.7, "val/accuracy_ci_low": expected.low,
                                             "val/accuracy_ci_high": expected.high}
    assert 0.2 < expected.low < 0.7 < expected.high < 1.0
    assert validation_metrics([], 1) == {"val/accuracy": pytest.approx(float("nan"), nan_ok=True)}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_phase_timer_counts_each_second_once() -> None:
    clock = FakeClock()
    timer = PhaseTimer(clock)
    with timer.phase("update_actor"):
        clock.now += 1.0
        with timer.phase("gen"):  # TRL generates inside training_step: not update time
            clock.now += 2.0
            with timer.phase("weight_sync"):
                clock.now += 0.5
            clock.now += 0.25
        with timer.phase("reward"):
            clock.now += 0.75
        clock.now += 1.0
    clock.now += 0.5  # between phases (e.g. the optimizer bookkeeping): in the step, in no phase
    timer.add_tokens("gen", 450)
    row = timer.take_row()
    assert set(row) == {*(f"timing_s/{p}" for p in PHASES), "timing_s/step", "perf/gen_tokens_per_s"}
    assert row["timing_s/update_actor"] == pytest.approx(2.0)
    assert row["timing_s/gen"] == pytest.approx(2.25) and row["timing_s/weight_sync"] == pytest.approx(0.5)
    assert row["timing_s/reward"] == pytest.approx(0.75) and row["timing_s/testing"] == 0.0
    assert row["timing_s/step"] == pytest.approx(6.0)
    assert sum(row[f"timing_s/{p}"] for p in PHASES) == pytest.approx(5.5)
    assert row["perf/gen_tokens_per_s"] == pytest.approx(200.0)
    clock.now += 1.0
    assert timer.take_row()["timing_s/step"] == pytest.approx(1.0)  # the next row starts where this one ended


def test_a_stop_without_its_start_is_ignored() -> None:
    timer = PhaseTimer(FakeClock())
    timer.stop("update_actor")  # e.g. an optimizer step whose pre-step hook ran in an earlier trainer
    assert timer.take_row()["timing_s/update_actor"] == 0.0
