"""The demo's verdict and report: did GRPO clear the bar, the summary table (held-out accuracy and format rate with
95% intervals, per problem family, the paired test) and ``demo_summary.json``. Used by
:mod:`deepscaler_grpo.demo.pipeline`; nothing here trains or generates."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from deepscaler_grpo.demo.problems import FAMILIES


@dataclass(frozen=True)
class BarResult:
    passed: bool
    improvement: float
    message: str


def check_bar(before: float, after: float, min_improvement: float, quick: bool = False) -> BarResult:
    """Did GRPO raise held-out accuracy (fractions in [0, 1]) by at least ``min_improvement``?"""
    gain = after - before
    points = f"{100 * before:.1f}% -> {100 * after:.1f}% ({100 * gain:+.1f} points)"
    if gain + 1e-9 >= min_improvement:
        return BarResult(True, gain, f"GRPO raised held-out accuracy {points}")
    advice = (
        "A --quick run is a smoke test of the stages (2 GRPO steps), too short to learn: run the full demo for the gain."
        if quick
        else "Try another --seed or --grpo-steps 300; on a very slow or busy machine results can differ."
    )
    return BarResult(False, gain, f"GRPO did NOT raise held-out accuracy by {100 * min_improvement:.0f} points: {points}. {advice}")


def bar_message(result: BarResult, paired: dict[str, Any] | None, enforce: bool) -> str:
    """The verdict line; a gain the paired test cannot tell from noise (p >= 0.05) says so, and a quick run says its
    bar is not enforced."""
    message = result.message
    if paired and result.improvement > 0 and paired["p_value"] >= 0.05:
        message += f" (p = {paired['p_value']:.3f} on {paired['problems']} problems: not distinguishable from noise)"
    return message if enforce else f"{message} (quick mode: bar not enforced)"


def exit_code(result: BarResult, enforce: bool) -> int:
    """0 when the bar is met or not enforced (quick mode), 1 when it is enforced and missed."""
    return 0 if result.passed or not enforce else 1



@dataclass(frozen=True)
class DemoReport:
    """What the summary shows and demo_summary.json holds."""

    seed: int
    quick: bool
    answer_types: dict[str, int]
    train_rows: int
    heldout_rows: int
    sft_loss: float
    grpo_steps: int
    before: dict[str, float]
    after: dict[str, float]
    before_by_family: dict[str, float]
    after_by_family: dict[str, float]
    improvement: float
    passed: bool
    message: str
    seconds: dict[str, float]
    paths: dict[str, str]
    paired: dict[str, Any] | None = None  # after - before on the same problems (evaluation.compare.paired_summary)


def print_summary(report: DemoReport) -> None:
    """A rich table: held-out accuracy and format rate before/after, per family, then timings and paths."""
    from rich.table import Table

    from deepscaler_grpo.console import make_console
    from deepscaler_grpo.evaluation.report import pct_ci

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    table = Table(title=f"GRPO demo (seed {report.seed}{', quick' if report.quick else ''}): held-out, greedy "
                        "(% [95% interval])")
    for name, justify in (("", "left"), ("after warm start", "right"), ("after GRPO", "right"), ("change", "right")):
        table.add_column(name, justify=justify)
    paired = report.paired or {}
    gain = (f"{100 * paired['difference']:+.1f} [{100 * paired['ci_low']:+.1f}, {100 * paired['ci_high']:+.1f}]"
            if paired else f"{100 * (report.after['pass@1'] - report.before['pass@1']):+.1f}")
    table.add_row("accuracy (pass@1)", pct_ci(report.before, "pass@1"), pct_ci(report.after, "pass@1"), gain)
    table.add_row("format rate", pct_ci(report.before, "format_rate"), pct_ci(report.after, "format_rate"),
                  f"{100 * (report.after['format_rate'] - report.before['format_rate']):+.1f}")
    for family in FAMILIES:
        before, after = report.before_by_family.get(family), report.after_by_family.get(family)
        change = None if before is None or after is None else after - before
        table.add_row(f"  {family}", pct(before), pct(after), "-" if change is None else f"{100 * change:+.1f}")
    console = make_console()
    console.print(table)
    if paired:
        p_value = "< 0.001" if paired["p_value"] < 0.001 else f"= {paired['p_value']:.3f}"
        console.print(f"paired test on the same {paired['problems']} problems (deepscaler-grpo compare): "
                      f"p {p_value}; GRPO fixed {paired['fixed']} problems and broke {paired['broken']}")
    times = ", ".join(f"{k} {v:.0f}s" for k, v in report.seconds.items())
    console.print(
        f"problems: {report.train_rows} train / {report.heldout_rows} held-out rows, answers {report.answer_types}"
    )
    console.print(f"GRPO steps: {report.grpo_steps}; time: {times}")
    for name, path in report.paths.items():
        console.print(f"{name:>12}: {path}")
    style = "bold green" if report.passed else ("bold yellow" if report.quick else "bold red")
    console.print(f"[{style}]{report.message}[/]")


def write_report(report: DemoReport, path: Path) -> Path:
    from deepscaler_grpo.io import write_json

    return write_json(path, asdict(report))


