"""deepscaler_grpo.training.checkpoints: the run directory's files (latest marker, publishing, pruning, metrics)."""

from __future__ import annotations

from pathlib import Path

from deepscaler_grpo.io import append_jsonl, read_jsonl
from deepscaler_grpo.training.checkpoints import (
    LATEST_FILE,
    latest_complete_checkpoint,
    prune_checkpoints,
    publish_checkpoint,
    remove_incomplete_checkpoints,
    truncate_metrics,
)
from tests.helpers import fake_checkpoint


def test_latest_complete_checkpoint_skips_incomplete(tmp_path: Path) -> None:
    assert latest_complete_checkpoint(tmp_path) is None
    fake_checkpoint(tmp_path / "global_step_2")
    fake_checkpoint(tmp_path / "global_step_10")
    fake_checkpoint(tmp_path / "global_step_11", complete=False)
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "global_step_10"  # numeric order, not lexical
    (tmp_path / LATEST_FILE).write_text("2\n")
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "global_step_2"  # the marker wins when complete
    (tmp_path / LATEST_FILE).write_text("11\n")
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "global_step_10"  # marker points at a torn one


def test_publish_is_a_rename_and_prunes(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        src = fake_checkpoint(tmp_path / f"checkpoint-{step * 2}")
        publish_checkpoint(src, tmp_path, step, keep=2)
        assert not src.exists() and (tmp_path / LATEST_FILE).read_text() == f"{step}\n"
    assert sorted(p.name for p in tmp_path.glob("global_step_*")) == ["global_step_2", "global_step_3"]
    publish_checkpoint(fake_checkpoint(tmp_path / "checkpoint-6"), tmp_path, 3)  # same step again: replaced
    assert prune_checkpoints(tmp_path, 1) == [tmp_path / "global_step_2"]
    (tmp_path / "checkpoint-99").mkdir()
    assert remove_incomplete_checkpoints(tmp_path) == [tmp_path / "checkpoint-99"]


def test_metrics_rows_truncated(tmp_path: Path) -> None:
    renamed = {"critic/score/mean": 0.5}
    path = tmp_path / "metrics.jsonl"
    for step in (1, 2, 3):
        append_jsonl(path, {"step": step, **renamed})
    with open(path, "a") as handle:
        handle.write('{"step": 4, "crit')  # torn line from a crash
    assert [r["step"] for r in read_jsonl(path)] == [1, 2, 3]
    assert truncate_metrics(path, 2) == 2 and [r["step"] for r in read_jsonl(path)] == [1, 2]
