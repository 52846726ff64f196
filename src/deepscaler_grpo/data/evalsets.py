"""Evaluation sets to decontaminate against: known benchmark names from ``deepscaler_grpo.problems`` (the
same table ``eval`` uses: Hub first, local mirror in ../shared/data/deepscaler/ or $DEEPSCALER_SHARED_DATA as
fallback, with a warning), or any local file / ``name=path`` / dataset name.

    from deepscaler_grpo.data.evalsets import load_eval_sets
    loaded, skipped = load_eval_sets(["aime24", "amc", "math500", "my_test.jsonl"])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deepscaler_grpo.data.records import DataError, is_local_source, read_hf_dataset, read_local_file
from deepscaler_grpo.problems import (
    MISSING,
    PROBLEM_KEYS,
    ProblemError,
    find_benchmark,
    load_benchmark,
    raw_ground_truth,
    split_benchmark_spec,
)


@dataclass(frozen=True)
class EvalSet:
    """Problems of one evaluation set and where they came from (for the report)."""

    name: str
    origin: str
    problems: tuple[str, ...]
    note: str = ""  # why a fallback was used, shown as a warning


def problem_texts(rows: Sequence[dict], spec: str) -> list[str]:
    """Problem texts of raw rows (any of the problem columns the benchmark table knows)."""
    texts = [raw_ground_truth(row, PROBLEM_KEYS) for row in rows]
    if rows and all(text is MISSING for text in texts):
        found = ", ".join(repr(c) for c in rows[0])
        raise DataError(f"evaluation set {spec}: no problem column (tried {', '.join(PROBLEM_KEYS)}); columns found: {found}.")
    return [str(text) for text in texts if text is not MISSING and text]


def load_problem_texts(spec: str, split: str = "train") -> list[str]:
    """Problem texts of a local file or a Hugging Face dataset (DataError naming the columns when absent)."""
    rows = read_local_file(Path(spec).expanduser()) if is_local_source(spec) else read_hf_dataset(spec, split)
    return problem_texts(rows, spec)


def load_eval_sets(
    specs: Sequence[str], use_hub: bool = True, search_dirs: Sequence[Path] | None = None
) -> tuple[list[EvalSet], list[dict[str, str]]]:
    """Load each spec (a known benchmark name or alias, a file, ``name=path`` or a dataset name).

    Known names try the Hub (when ``use_hub``) then the local mirror; if neither works the set is skipped
    with a warning and listed in the second return value. Other specs must load or raise.
    """
    loaded: list[EvalSet] = []
    skipped: list[dict[str, str]] = []
    for spec in specs:
        name, target = split_benchmark_spec(spec)
        bench = find_benchmark(target) if not Path(target).exists() else None
        if bench is not None:
            try:
                found = load_benchmark(bench, use_hub=use_hub, search_dirs=search_dirs, flag="--decontaminate-with")
            except ProblemError as exc:
                skipped.append({"name": bench.name, "reason": str(exc)})
                continue
            loaded.append(EvalSet(bench.name, found.origin, tuple(problem_texts(found.rows, spec)), found.note))
            continue
        label = name or (Path(target).stem if is_local_source(target) else target)
        loaded.append(EvalSet(label, target, tuple(load_problem_texts(target))))
    return loaded, skipped
