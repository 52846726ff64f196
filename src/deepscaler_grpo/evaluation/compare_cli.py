"""``deepscaler-grpo compare A B``: is B better than A on the same problems? A paired comparison of two evaluations.

    deepscaler-grpo compare eval_results/base eval_results/step50
    deepscaler-grpo compare runs/x/global_step_50 runs/x/global_step_100    # their evaluations in CHECKPOINT/eval

Prints one row per benchmark (A's and B's pass@1 with 95% intervals, B - A with its paired interval and p-value, the
problems that flipped each way), lists the flipped problems, and writes ``compare.json`` and ``compare.png`` to
``--output-dir``. A checkpoint without an evaluation gets the exact ``eval`` command to run. Evaluations that differ
in problems, decoding or verifier policy are refused, naming the field, unless ``--force``. Exit status: 0 done,
2 refused or bad input (one line, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from deepscaler_grpo.errors import EXIT_OK, UserError, report_error
from deepscaler_grpo.evaluation.compare import Comparison, compare, comparison_json, load_pair
from deepscaler_grpo.evaluation.intervals import Interval

RESULT_FILES = ("compare.json", "compare.png")
LISTED_FLIPS = 5


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepscaler-grpo compare",
        description="Paired comparison of two evaluations of the same problems: B - A per benchmark with its 95% "
                    "interval, p-value and flipped problems; a table, compare.json and compare.png.",
    )
    parser.add_argument("a", help="eval output folder, or a checkpoint RUN/global_step_N (evaluation in .../eval)")
    parser.add_argument("b", help="the same for B (the difference is B - A)")
    parser.add_argument("--output-dir", default="compare_results", help="where compare.json and compare.png go "
                        "(default ./compare_results; a folder of an earlier compare is overwritten)")
    parser.add_argument("--force", action="store_true",
                        help="compare evaluations that differ in problems, decoding or verifier policy (listed)")
    return parser


def check_output(path: str) -> Path:
    """A new or empty folder, or one holding only an earlier compare's files."""
    from deepscaler_grpo.outputs import OutputError, check_output_dir

    out = check_output_dir(path, "--output-dir")
    if out.is_dir() and any(p.name not in RESULT_FILES for p in out.iterdir()):
        raise OutputError(f"--output-dir {out} holds other files; pass a new or empty folder")
    return out


def points(i: Interval, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{100 * i.estimate:{sign}.1f} [{100 * i.low:{sign}.1f}, {100 * i.high:{sign}.1f}]"


def p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def print_comparison(result: Comparison) -> None:
    """The table, then the flipped problems (first few each way)."""
    from rich.table import Table

    from deepscaler_grpo.console import make_console

    table = Table(title=f"B - A: A = {result.a.label} ({result.a.folder}), B = {result.b.label} ({result.b.folder})\n"
                        "pass@1 % with 95% intervals; paired on the same problems", title_justify="left")
    for name, justify in (("benchmark", "left"), ("problems", "right"), ("A", "right"), ("B", "right"),
                          ("B - A", "right"), ("p-value", "right"), ("flips +/-", "right")):
        table.add_column(name, justify=justify, no_wrap=justify == "right")
    for name, c in result.benchmarks.items():
        table.add_row(name, str(c.paired.num_problems), points(c.a), points(c.b),
                      points(c.paired.difference, signed=True), p_text(c.paired.p_value), f"+{len(c.gained)} / -{len(c.lost)}")
    console = make_console()
    console.print(table)
    for name, c in result.benchmarks.items():
        for sign, problems in (("+ solved by B only", c.gained), ("- solved by A only", c.lost)):
            if problems:
                shown = "; ".join(_clip(p) for p in problems[:LISTED_FLIPS])
                more = f" (+{len(problems) - LISTED_FLIPS} more in compare.json)" if len(problems) > LISTED_FLIPS else ""
                console.print(f"{name} {sign} ({len(problems)}): {shown}{more}", soft_wrap=True)
    for line in [*(f"forced: {d}" for d in result.differences), *result.notes]:
        console.print(f"note: {line}")


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def plot_comparison(result: Comparison, path: Path) -> Path:
    """Left: each benchmark's pass@1 for A and B with intervals; right: B - A with its paired interval."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from deepscaler_grpo.tools.plot import save_figure

    names = list(result.benchmarks)
    fig = Figure(figsize=(11, 1.6 + 0.7 * len(names)), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    rows = range(len(names))
    for offset, side, label, color in ((0.15, "a", f"A: {result.a.label}", "tab:gray"),
                                       (-0.15, "b", f"B: {result.b.label}", "tab:blue")):
        _intervals(left, [getattr(result.benchmarks[n], side) for n in names], [r + offset for r in rows], label, color)
    _intervals(right, [result.benchmarks[n].paired.difference for n in names], list(rows), "B - A", "tab:green")
    right.axvline(0.0, color="black", linewidth=0.8)
    for row, name in zip(rows, names):
        p_value = p_text(result.benchmarks[name].paired.p_value)
        right.annotate(f"p{p_value}" if p_value.startswith("<") else f"p={p_value}", (0.99, row - 0.2),
                       xycoords=("axes fraction", "data"), ha="right", va="center", fontsize=8)
    left.set_yticks(list(rows), names)
    left.invert_yaxis()
    left.set_xlabel("pass@1 (%), 95% interval")
    right.set_xlabel("B - A (points), paired 95% interval")
    for ax in (left, right):
        ax.grid(alpha=0.3, axis="x")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8)
    fig.suptitle(f"{result.b.label} vs {result.a.label}: pass@1 and the paired difference B - A")
    return save_figure(fig, path)


def _intervals(ax: Any, intervals: list[Interval], rows: list[float], label: str, color: str) -> None:
    x = [100 * i.estimate for i in intervals]
    err = [[100 * (i.estimate - i.low) for i in intervals], [100 * (i.high - i.estimate) for i in intervals]]
    ax.errorbar(x, rows, xerr=[[max(e, 0) for e in err[0]], [max(e, 0) for e in err[1]]], fmt="o", capsize=3,
                color=color, label=label)


def main(argv: list[str] | None = None) -> int:
    from deepscaler_grpo.io import write_json
    from deepscaler_grpo.outputs import writing

    args = build_parser().parse_args(argv)
    try:
        out = check_output(args.output_dir)
        a, b = load_pair(args.a, args.b)
        result = compare(a, b, force=args.force)
        with writing(out, "--output-dir"):
            out.mkdir(parents=True, exist_ok=True)
            write_json(out / "compare.json", comparison_json(result))
            plot_comparison(result, out / "compare.png")
    except UserError as exc:
        return report_error("compare", exc)
    print_comparison(result)
    print(f"wrote {out / 'compare.json'} and {out / 'compare.png'}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
