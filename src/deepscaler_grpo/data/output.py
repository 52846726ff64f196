"""Writing ``deepscaler-grpo prepare`` results: the parquet schema (verl-compatible), atomic writes of
all outputs together, and the report (JSON + a rich table).

Columns: ``problem``, ``answer`` (str: the answer, or the first of several accepted answers),
``solution`` (str, "" when absent), ``prompt`` (list of {role, content}), ``data_source``, ``ability``
("math"), ``reward_model`` {style: "rule", ground_truth}, ``extra_info`` {index, split}.
``reward_model.ground_truth`` is a string, unless some row of the prepared output (train or val) has
several accepted answers: then it is a list of strings in every row of both files (one element for
ordinary rows), because a parquet column has one type.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepscaler_grpo.data.clean import ANSWER_TYPES, answer_type
from deepscaler_grpo.data.records import DataError
from deepscaler_grpo.io import make_temp_dir

OUTPUT_FILES = ("train.parquet", "val.parquet", "prepare_report.json")


def parquet_schema(list_ground_truth: bool) -> Any:
    """The output schema; ``ground_truth`` is list<string> when ``list_ground_truth`` else string."""
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    truth = pa.list_(pa.string()) if list_ground_truth else pa.string()
    return pa.schema(
        [
            ("problem", pa.string()),
            ("answer", pa.string()),
            ("solution", pa.string()),
            ("prompt", pa.list_(message)),
            ("data_source", pa.string()),
            ("ability", pa.string()),
            ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", truth)])),
            ("extra_info", pa.struct([("index", pa.int64()), ("split", pa.string())])),
        ]
    )


def output_records(
    rows: Sequence[Mapping[str, Any]], prompts: Sequence[list[dict[str, str]]], split: str, list_ground_truth: bool
) -> list[dict[str, Any]]:
    """Rows in the output layout (``extra_info.index`` counts within the split)."""
    records = []
    for index, (row, prompt) in enumerate(zip(rows, prompts)):
        answer = row["answer"]
        first = answer if isinstance(answer, str) else answer[0]
        truth = (list(answer) if not isinstance(answer, str) else [answer]) if list_ground_truth else first
        records.append(
            {
                "problem": row["problem"],
                "answer": first,
                "solution": row["solution"],
                "prompt": prompt,
                "data_source": row["data_source"],
                "ability": "math",
                "reward_model": {"style": "rule", "ground_truth": truth},
                "extra_info": {"index": index, "split": split},
            }
        )
    return records


def check_outputs_free(output_dir: Path, overwrite: bool, names: Sequence[str] = OUTPUT_FILES) -> None:
    """Refuse to run when outputs exist and ``overwrite`` is off, before any work is done."""
    existing = [name for name in names if (output_dir / name).exists()]
    if existing and not overwrite:
        raise DataError(
            f"{output_dir} already has {', '.join(existing)}; pass --overwrite to replace them "
            "or choose another --output-dir."
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise DataError(f"--output-dir {output_dir} exists and is not a folder.")


def write_outputs(
    output_dir: Path, tables: Mapping[str, list[dict[str, Any]]], schema: Any, report: Mapping[str, Any]
) -> dict[str, Path]:
    """Write every output into a temporary folder inside ``output_dir``, then move them into place.

    Nothing is moved unless all files were written, so a crash never leaves a half-written set.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    output_dir.mkdir(parents=True, exist_ok=True)
    staging = make_temp_dir(output_dir, ".prepare-")
    try:
        for name, records in tables.items():
            pq.write_table(pa.Table.from_pylist(records, schema=schema), staging / name)
        (staging / "prepare_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        final = {}
        for path in sorted(staging.iterdir()):
            os.replace(path, output_dir / path.name)
            final[path.name] = output_dir / path.name
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def percentiles(values: Sequence[int], points: Sequence[int] = (50, 90, 99)) -> dict[str, float]:
    """p50/p90/p99/max (and mean) of lengths; empty input gives an empty dict."""
    if not values:
        return {}
    array = np.asarray(values)
    stats = {f"p{p}": round(float(np.percentile(array, p)), 1) for p in points}
    return {"mean": round(float(array.mean()), 1), **stats, "max": float(array.max())}


def answer_type_counts(rows: Sequence[Mapping[str, Any]], classes: Sequence[str] = ANSWER_TYPES) -> dict[str, int]:
    """How many answers of each class (all classes listed, zeros included)."""
    counts = Counter(answer_type(row["answer"]) for row in rows)
    return {name: counts.get(name, 0) for name in classes}


def render_report(report: Mapping[str, Any], classes: Sequence[str] = ANSWER_TYPES) -> None:
    """Print the report as rich tables: the steps, answer types and prompt lengths."""
    from rich.table import Table

    from deepscaler_grpo.console import make_console

    console = make_console()
    steps = Table(title="deepscaler-grpo prepare", title_justify="left")
    for column, justify in (("input", "left"), ("step", "left"), ("dropped", "right"), ("rows left", "right")):
        steps.add_column(column, justify=justify)
    for part, block in report["counts"].items():
        for step in block["steps"]:
            dropped = "" if step.get("dropped") is None else str(step["dropped"])
            steps.add_row(part, step["step"], dropped, str(step["rows"]))
    console.print(steps)
    types = Table(title="answer types", title_justify="left")
    types.add_column("split")
    for name in classes:
        types.add_column(name, justify="right")
    for split, counts in report["answer_types"].items():
        types.add_row(split, *(str(counts[name]) for name in classes))
    console.print(types)
    lengths = Table(title="prompt length (train + val)", title_justify="left")
    lengths.add_column("unit")
    for stat in ("mean", "p50", "p90", "p99", "max"):
        lengths.add_column(stat, justify="right")
    for unit, stats in report["prompt_length"].items():
        if stats:
            lengths.add_row(unit, *(f"{stats[s]:g}" for s in ("mean", "p50", "p90", "p99", "max")))
    console.print(lengths)
    sets = Table(title="decontamination", title_justify="left")
    for column in ("set", "problems", "removed"):
        sets.add_column(column, justify="right" if column in ("problems", "removed") else "left")
    sets.add_column("loaded from", overflow="fold")  # full paths: AIME and AMC mirrors differ only at the end
    for item in report["decontamination"]["sets"]:
        sets.add_row(item["name"], str(item["problems"]), str(item["removed"]), str(item["origin"]))
    for item in report["decontamination"]["skipped"]:
        sets.add_row(item["name"], "-", "-", "skipped: " + item["reason"])
    console.print(sets)
