"""Plots: PNGs from a synthetic metrics.jsonl, skipped metrics, clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from deepscaler_grpo.tools import plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ALL_FILES = ["reward_mean.png", "val_accuracy.png", "response_length.png", "kl.png", "entropy.png", "overview.png"]


def write_metrics(path: Path, steps: int = 40, keys: tuple[str, ...] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    lines = []
    for step in range(1, steps + 1):
        row = {
            "step": step,
            "critic/score/mean": 1 - math.exp(-step / 10),
            "response_length/mean": 200 + 3 * step,
            "actor/kl_loss": 0.001 * step,
            "actor/entropy": 1.0 - 0.01 * step,
            "actor/grad_norm": 0.5,
        }
        if step % 10 == 0:
            row["val/accuracy"] = step / 100
        if keys is not None:
            row = {k: v for k, v in row.items() if k == "step" or k in keys}
        lines.append(json.dumps(row))
    (path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return path


def test_plot_run_writes_every_chart(tmp_path: Path) -> None:
    run = write_metrics(tmp_path / "run")
    with (run / "metrics.jsonl").open("a") as fh:
        fh.write('{"step": 41, "critic/sc')  # torn last line from a crash: skipped
    paths, notes = plot.plot_run(run)
    assert notes == []
    assert [p.name for p in paths] == ALL_FILES
    for path in paths:
        assert path.parent == run / "plots"
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    assert sorted(p.name for p in (run / "plots").iterdir()) == sorted(ALL_FILES)  # no temp files left


def test_plot_skips_absent_metrics_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_metrics(tmp_path / "run", keys=("critic/score/mean", "actor/kl_loss"))
    out = tmp_path / "figs"
    assert plot.main([str(run / "metrics.jsonl"), "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["kl.png", "overview.png", "reward_mean.png"]
    assert "skipped validation accuracy" in printed and "skipped policy entropy" in printed
    assert str(out / "overview.png") in printed


def test_series_and_moving_average() -> None:
    rows = [{"step": 2, "a": 1.0}, {"step": 1, "a": float("nan")}, {"step": 3, "b": 5}, {"step": 1, "a": 3}]
    assert plot.series(rows, ("missing", "a")) == ("a", [1.0, 2.0], [3.0, 1.0])
    assert plot.series(rows, ("missing",)) is None
    assert plot.moving_average([1, 2, 3, 4], 2) == pytest.approx([1, 1.5, 2.5, 3.5])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "metrics.jsonl not found"),
        ("", "no metric rows"),
        ('{"step": 1, "other": 2}\n', "none of the plotted metrics"),
    ],
)
def test_plot_errors_are_clear(
    content: str | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if content is not None:
        (tmp_path / "metrics.jsonl").write_text(content)
    assert plot.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "plots").exists() or not any((tmp_path / "plots").iterdir())


def test_validation_interval_is_drawn_as_a_band() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    rows = [{"step": s, "val/accuracy": s / 10, "val/accuracy_ci_low": s / 10 - 0.05, "val/accuracy_ci_high": s / 10 + 0.1}
            for s in (0, 5, 10)] + [{"step": 7, "val/accuracy": 0.7}]  # an older row without an interval
    val = next(p for p in plot.default_plots() if p.filename == "val_accuracy.png")
    band = plot.interval_band(rows, val.band)
    assert band == ([0.0, 5.0, 10.0], [-0.05, 0.45, 0.95], [0.1, 0.6, 1.1])
    ax = Figure().add_subplot()
    plot.draw(ax, val, *plot.series(rows, val.keys), band)
    (poly,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = poly.get_paths()[0].vertices[:, 1]
    assert min(ys) == pytest.approx(-0.05) and max(ys) == pytest.approx(1.1)
    assert "95% interval" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert plot.interval_band([{"step": 1, "val/accuracy": 0.5}], val.band) is None  # no band without the keys


def test_timing_plot_stacks_each_phase(tmp_path: Path) -> None:
    run = write_metrics(tmp_path / "run", steps=3)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for row in rows:  # gen 2 s, update 3 s, a phase that never ran, and the step total
        row.update({"timing_s/gen": 2.0, "timing_s/update_actor": 3.0, "timing_s/testing": 0.0, "timing_s/step": 5.5})
    rows[1]["timing_s/update_actor"] = 7.0
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    steps, phases = plot.phase_seconds(rows)
    assert steps == [1.0, 2.0, 3.0]
    assert phases == {"gen": [2.0, 2.0, 2.0], "update_actor": [3.0, 7.0, 3.0]}  # "testing" never took time
    fig = plot.timing_figure(steps, phases)
    heights = sorted(round(p.get_y() + p.get_height(), 6) for p in fig.axes[0].patches)
    assert heights == [2.0, 2.0, 2.0, 5.0, 5.0, 9.0]  # update stacked on gen
    paths, _ = plot.plot_run(run)
    assert paths[-1].name == "timing.png" and paths[-1].read_bytes().startswith(PNG_MAGIC)
    assert plot.phase_seconds([{"step": 1, "critic/score/mean": 0.5}]) is None  # an untimed log: no timing chart
