"""Training curves: PNG charts from a run's ``metrics.jsonl`` (one JSON object per step).

One figure per metric (reward mean, validation accuracy with its 95% interval as a band, response length, KL,
entropy, and the response
length limit ``stage/max_response_length`` of a length-scheduled run) against ``step``, plus ``overview.png``
with all of them in a grid, and ``timing.png``: where each step's seconds went (``timing_s/*`` stacked per step). Metrics missing from the file are skipped with a note (the stage limit silently). Uses matplotlib's Agg backend, so it works on headless machines.

    deepscaler-grpo plot runs/deepscaler_qwen3_4b            # -> runs/deepscaler_qwen3_4b/plots/*.png
    deepscaler-grpo plot runs/x --output-dir figures
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.errors import UserError, report_error
from deepscaler_grpo.io import atomic_write, read_jsonl
from deepscaler_grpo.outputs import check_output_dir, writing

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class PlotError(Exception):
    """A user-facing problem (missing/empty metrics file): printed without a traceback."""


@dataclass(frozen=True)
class MetricPlot:
    """One chart: the metric names to look for (first found wins), a title, a y label and a file name."""

    keys: tuple[str, ...]
    title: str
    ylabel: str
    filename: str
    optional: bool = False  # skipped without a note when absent (e.g. stage/* only exists with a length schedule)
    steps: bool = False  # a staircase (a setting that holds until it changes), not a sloped line
    band: tuple[str, str] | None = None  # (low, high) keys of a 95% interval drawn as a shaded band


def default_plots() -> list[MetricPlot]:
    """verl metric names first; TRL's own names as fallbacks so raw TRL logs plot too."""
    return [
        MetricPlot(("critic/score/mean", "reward"), "Reward (mean score)", "reward", "reward_mean.png"),
        MetricPlot(("val/accuracy", "eval_val/accuracy"), "Validation accuracy", "pass@1", "val_accuracy.png",
                   band=("val/accuracy_ci_low", "val/accuracy_ci_high")),
        MetricPlot(("response_length/mean", "completions/mean_length"), "Response length", "tokens",
                   "response_length.png"),
        MetricPlot(("actor/kl_loss", "kl"), "KL to reference", "KL", "kl.png"),
        MetricPlot(("actor/entropy", "entropy"), "Policy entropy", "nats / token", "entropy.png"),
        MetricPlot(("stage/max_response_length",), "Response length limit (length schedule stage)", "tokens",
                   "stage_max_response_length.png", optional=True, steps=True),
    ]


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a metrics.jsonl; a torn last line (crash mid-write) is skipped, not fatal."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    if not path.exists():
        raise PlotError(
            f"{path} not found: pass a training run folder (trainer.default_local_dir) that has metrics.jsonl"
        )
    rows = [row for row in read_jsonl(path) if "step" in row]
    if not rows:
        raise PlotError(f"{path} has no metric rows with a 'step' yet: train for at least one step, then plot")
    return rows


def series(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> tuple[str, list[float], list[float]] | None:
    """(key, steps, values) for the first of ``keys`` with any finite value; None when none has."""
    for key in keys:
        points = [(float(r["step"]), float(r[key])) for r in rows if _finite(r.get(key))]
        if points:
            points.sort()
            return key, [p[0] for p in points], [p[1] for p in points]
    return None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over ``window`` points (shorter at the start), to show the trend of noisy curves."""
    import numpy as np

    cumsum = np.cumsum(np.insert(np.asarray(values, dtype=float), 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return list((cumsum[idx] - cumsum[lo]) / (idx - lo))


def interval_band(rows: Sequence[dict[str, Any]], keys: tuple[str, str] | None) -> tuple[list[float], ...] | None:
    """(steps, lows, highs) of the rows holding both interval keys, or None when none does."""
    if keys is None:
        return None
    points = sorted((float(r["step"]), float(r[keys[0]]), float(r[keys[1]])) for r in rows
                    if _finite(r.get(keys[0])) and _finite(r.get(keys[1])))
    return tuple(list(column) for column in zip(*points)) if points else None


def draw(ax: Axes, plot: MetricPlot, key: str, steps: list[float], values: list[float],
         band: tuple[list[float], ...] | None = None) -> None:
    """The raw curve (with markers when sparse), a smoothed trend line when there are many points, and the 95%
    interval as a shaded band when the rows hold one."""
    if band is not None:
        ax.fill_between(band[0], band[1], band[2], color="tab:blue", alpha=0.15, linewidth=0, label="95% interval")
    sparse = len(steps) <= 30
    ax.plot(steps, values, marker="o" if sparse else None, markersize=3, linewidth=1.2,
            alpha=1.0 if sparse or plot.steps else 0.35, color="tab:blue", label=key,
            drawstyle="steps-pre" if plot.steps else "default")
    if not sparse and not plot.steps:
        window = max(2, len(values) // 20)
        ax.plot(steps, moving_average(values, window), linewidth=2, color="tab:blue", label=f"{window}-step mean")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    ax.ticklabel_format(axis="y", useOffset=False)  # show 6.8902, not "+6.89" and 0.0002
    ax.set_title(plot.title)
    ax.set_xlabel("step")
    ax.set_ylabel(plot.ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def save_figure(fig: Any, path: Path) -> Path:
    """Save atomically with the umask's mode (``io.atomic_write``), then close the figure."""
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png"), suffix=".png")
    finally:
        fig.clf()


def plot_run(
    run_dir: str | Path, output_dir: str | Path | None = None, plots: Sequence[MetricPlot] | None = None
) -> tuple[list[Path], list[str]]:
    """Write one PNG per available metric plus ``overview.png``; returns (paths, notes on skipped metrics)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    run_dir = Path(run_dir)
    rows = read_metrics(run_dir)
    run_folder = run_dir if run_dir.is_dir() else run_dir.parent
    out = Path(output_dir) if output_dir else run_folder / "plots"
    out.mkdir(parents=True, exist_ok=True)
    found, notes = [], []
    for plot in plots or default_plots():
        data = series(rows, plot.keys)
        if data is None and not plot.optional:
            notes.append(f"skipped {plot.title.lower()}: none of {', '.join(plot.keys)} in metrics.jsonl")
        elif data is not None:
            found.append((plot, data, interval_band(rows, plot.band)))
    if not found:
        raise PlotError(f"none of the plotted metrics are in {run_dir}: " + "; ".join(notes))
    paths = []
    for plot, (key, steps, values), band in found:
        fig = Figure(figsize=(6, 4))
        draw(fig.add_subplot(), plot, key, steps, values, band)
        paths.append(save_figure(fig, out / plot.filename))
    paths.append(save_figure(overview(found, run_folder.resolve().name), out / "overview.png"))
    phases = phase_seconds(rows)
    if phases:
        paths.append(save_figure(timing_figure(*phases), out / "timing.png"))
    return paths, notes


def phase_seconds(rows: Sequence[dict[str, Any]]) -> tuple[list[float], dict[str, list[float]]] | None:
    """(steps, {phase: seconds per step}) for the ``timing_s/<phase>`` keys any row has (not ``timing_s/step``,
    their total), phases that never took time left out; None when the rows hold no timing."""
    timed = sorted((r for r in rows if _finite(r.get("timing_s/step"))), key=lambda r: float(r["step"]))
    names = sorted({k for r in timed for k in r if k.startswith("timing_s/") and k != "timing_s/step"})
    columns = {k.removeprefix("timing_s/"): [float(r[k]) if _finite(r.get(k)) else 0.0 for r in timed] for k in names}
    columns = {name: values for name, values in columns.items() if any(values)}
    return ([float(r["step"]) for r in timed], columns) if columns else None


def timing_figure(steps: list[float], phases: dict[str, list[float]]) -> Any:
    """Stacked bars, one per step: the seconds of each phase (the verl names), so a slow phase stands out."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    bottom = [0.0] * len(steps)
    for name, seconds in phases.items():
        ax.bar(steps, seconds, bottom=bottom, width=0.8, label=name)
        bottom = [b + s for b, s in zip(bottom, seconds, strict=True)]
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Where each step's time goes (timing_s/*)")
    ax.set_xlabel("step")
    ax.set_ylabel("seconds")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def overview(found: list[tuple[MetricPlot, tuple[str, list[float], list[float]], Any]], title: str) -> Any:
    """All found metrics in one grid (up to 3 columns)."""
    from matplotlib.figure import Figure

    cols = min(3, len(found))
    rows = math.ceil(len(found) / cols)
    fig = Figure(figsize=(5 * cols, 3.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (plot, (key, steps, values), band) in zip(axes, found, strict=False):
        draw(ax, plot, key, steps, values, band)
    for ax in axes[len(found) :]:
        ax.set_visible(False)
    fig.suptitle(f"Training run: {title}")
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deepscaler-grpo plot", description="PNG charts from a run's metrics.jsonl")
    parser.add_argument("run_dir", help="training run folder (trainer.default_local_dir) or a metrics.jsonl file")
    parser.add_argument("--output-dir", default=None, help="where the PNGs go (default RUN_DIR/plots)")
    args = parser.parse_args(argv)
    try:
        run_folder = Path(args.run_dir) if Path(args.run_dir).is_dir() else Path(args.run_dir).parent
        out = check_output_dir(args.output_dir or run_folder / "plots", "--output-dir")
        with writing(out, "--output-dir"):
            paths, notes = plot_run(args.run_dir, out)
    except (PlotError, UserError) as exc:
        return report_error("plot", exc)
    for note in notes:
        print(f"note: {note}")
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
