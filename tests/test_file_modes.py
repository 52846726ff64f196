"""Every stage's outputs follow the umask like an ordinary write (mkstemp and safetensors' temp files give
0600, which another user or a serving process cannot read). Run with umask 027: files 0640, folders 0750."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepscaler_grpo.cli import main

UMASK = 0o027


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(UMASK)
    try:
        yield
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, int]:
    """Permission bits of every file and folder below ``root`` (the root included)."""
    return {str(p.relative_to(root.parent)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def wrong_modes(root: Path) -> dict[str, str]:
    expected = {True: 0o777 & ~UMASK, False: 0o666 & ~UMASK}
    return {name: oct(mode) for name, mode in modes(root).items()
            if mode != expected[(root.parent / name).is_dir()]}


def test_atomic_writes_follow_the_umask(tmp_path: Path, umask_027: None) -> None:
    from deepscaler_grpo.io import atomic_write_text, write_json, write_jsonl

    atomic_write_text(tmp_path / "out" / "a.txt", "x")
    write_json(tmp_path / "out" / "b.json", {"a": 1})
    write_jsonl(tmp_path / "out" / "c.jsonl", [{"a": 1}])
    assert wrong_modes(tmp_path / "out") == {}


@pytest.mark.slow
def test_prepare_train_eval_plot_export_outputs_follow_the_umask(
    tiny_model_dir: Path, tmp_path: Path, umask_027: None
) -> None:
    rows = [{"problem": f"What is {i} plus {i + 1}?", "answer": str(2 * i + 1)} for i in range(12)]
    (tmp_path / "src.json").write_text(json.dumps(rows))
    data = tmp_path / "data"
    assert main(["prepare", "--source", str(tmp_path / "src.json"), "--output-dir", str(data), "--val-size", "2",
                 "--no-decontaminate", "--no-progress"]) == 0
    run = tmp_path / "run"
    assert main(["train", f"actor_rollout_ref.model.path={tiny_model_dir}", f"data.train_files={data / 'train.parquet'}",
                 f"data.val_files={data / 'val.parquet'}", "data.train_batch_size=4",
                 "actor_rollout_ref.actor.ppo_mini_batch_size=4", "actor_rollout_ref.rollout.n=2",
                 "actor_rollout_ref.rollout.name=hf", "data.max_response_length=8", "trainer.total_training_steps=1",
                 "trainer.val_before_train=False", f"trainer.default_local_dir={run}"]) == 0
    adapter = run / "global_step_1" / "adapter"
    assert main(["eval", "--model", str(tiny_model_dir), "--adapter", str(adapter), "--benchmarks",
                 str(data / "val.parquet"), "--max-tokens", "4", "--output-dir", str(tmp_path / "eval"),
                 "--no-progress"]) == 0
    assert main(["plot", str(run), "--output-dir", str(tmp_path / "plots")]) == 0
    assert main(["export", "--base", str(tiny_model_dir), "--adapter", str(adapter), "--output-dir",
                 str(tmp_path / "model")]) == 0
    for folder in (data, run, tmp_path / "eval", tmp_path / "plots", tmp_path / "model"):
        assert wrong_modes(folder) == {}, folder
    assert (tmp_path / "model" / "model.safetensors").is_file()
