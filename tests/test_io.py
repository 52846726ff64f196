from __future__ import annotations

from pathlib import Path

import pytest

from deepscaler_grpo.io import atomic_write_text


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "sub" / "x.json", "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "x.txt", "old")
    with pytest.raises(TypeError):
        atomic_write_text(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_read_jsonl_skips_torn_and_non_object_lines(tmp_path: Path) -> None:
    from deepscaler_grpo.io import read_jsonl

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "x": 0.5}\n[1, 2]\n\n{"step": 2, "x": 0.7}\n{"step": 3, "x"')
    assert read_jsonl(path) == [{"step": 1, "x": 0.5}, {"step": 2, "x": 0.7}]
    assert read_jsonl(tmp_path / "missing.jsonl") == []
