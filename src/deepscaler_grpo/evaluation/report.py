"""What ``eval`` prints: one row per benchmark with every metric and its 95% interval, the training policy's and
math-verify's figures beside the headline, and a published protocol's table layout (``--protocol deepscaler``).

    print_table(summary["benchmarks"], title="model + adapter")
    print_protocol_table(protocols()["deepscaler"], summary["benchmarks"], row_name="Qwen3-4B + step 50")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepscaler_grpo.evaluation.intervals import Interval, combined_mean, z_value
from deepscaler_grpo.evaluation.metrics import metric_names
from deepscaler_grpo.evaluation.protocol import Protocol


def interval_of(summary: Mapping[str, Any], key: str) -> Interval:
    """The :class:`Interval` stored under ``key`` / ``key_ci_low`` / ``key_ci_high``; its standard error is read back
    as half the width / z (exact for a symmetric interval, close for Wilson's away from 0 and 100%)."""
    low, high = summary[f"{key}_ci_low"], summary[f"{key}_ci_high"]
    return Interval(summary[key], low, high, (high - low) / (2 * z_value()))


def pct_ci(summary: Mapping[str, Any], key: str, signed: bool = False) -> str:
    """``43.1 [38.0, 48.3]`` (percent, one decimal): a metric and its 95% interval."""
    if key not in summary:
        return "-"
    sign = "+" if signed else ""
    value, low, high = (100 * summary[k] for k in (key, f"{key}_ci_low", f"{key}_ci_high"))
    return f"{value:{sign}.1f} [{low:{sign}.1f}, {high:{sign}.1f}]"


def extra_columns(summaries: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Extra verdict columns present in any summary (``training``, ``math_verify``), in that order."""
    present = {key[len("disagreements_"):] for s in summaries.values() for key in s if key.startswith("disagreements_")}
    return [name for name in ("training", "math_verify") if name in present]


def print_table(summaries: Mapping[str, Mapping[str, Any]], title: str = "evaluation") -> None:
    """One row per benchmark: problems, pass@k and format rate in percent with 95% intervals, then the training
    policy's and math-verify's pass@1 with how many responses they grade differently."""
    from rich.table import Table

    from deepscaler_grpo.console import make_console

    keys = metric_names(next(iter(summaries.values())))
    extras = extra_columns(summaries)
    table = Table(title=f"{title}\n(% with 95% intervals; strict verifier)", title_justify="left")
    table.add_column("benchmark")
    table.add_column("problems", justify="right")
    for key in keys:
        table.add_column(key, justify="right", no_wrap=True)
    titles = {"training": "pass@1, training policy", "math_verify": "pass@1, math-verify"}
    for name in extras:
        table.add_column(titles[name], justify="right", no_wrap=True)
    for bench, summary in summaries.items():
        cells = [pct_ci(summary, key) for key in keys]
        cells += [f"{pct_ci(summary, f'pass@1_{name}')}, {summary.get(f'disagreements_{name}', 0)} differ"
                  if f"pass@1_{name}" in summary else "-" for name in extras]
        table.add_row(bench, str(int(summary["num_problems"])), *cells)
    make_console().print(table)


def protocol_rows(protocol: Protocol, summaries: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The cells of a protocol table's row: each benchmark's pass@1 with its interval, then the average."""
    found = [summaries.get(name) for name, _ in protocol.columns]
    cells = [pct_ci(s, "pass@1") if s else "-" for s in found]
    if all(found):
        avg = combined_mean([interval_of(s, "pass@1") for s in found if s])
        cells.append(f"{100 * avg.estimate:.1f} [{100 * avg.low:.1f}, {100 * avg.high:.1f}]")
    else:
        cells.append("-")
    return cells


def print_protocol_table(protocol: Protocol, summaries: Mapping[str, Mapping[str, Any]], row_name: str) -> None:
    """The published table's layout (DeepScaleR: Model | AIME 2024 | MATH 500 | AMC 2023 | Minerva Math |
    OlympiadBench | Avg.), pass@1 in percent with 95% intervals."""
    from rich.table import Table

    from deepscaler_grpo.console import make_console

    table = Table(title=f"{protocol.reference}\n(pass@1 %, 95% intervals)", title_justify="left")
    table.add_column("Model")
    for _, title in protocol.columns:
        table.add_column(title, justify="right")
    table.add_column("Avg.", justify="right")
    table.add_row(row_name, *protocol_rows(protocol, summaries))
    make_console().print(table)
