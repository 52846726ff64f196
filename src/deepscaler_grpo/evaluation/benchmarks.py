"""Benchmarks for ``eval``: ``--benchmarks`` specs (known names from ``deepscaler_grpo.problems``, files,
``NAME=PATH``) resolved to :class:`~deepscaler_grpo.problems.Problem` lists.

    from deepscaler_grpo.evaluation.benchmarks import load_problems
    problems = load_problems("aime24", limit=10)     # Hub, else the local mirror (same as prepare)
"""

from __future__ import annotations

import sys
from pathlib import Path

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.problems import (
    Problem,
    ProblemError,
    benchmarks,
    find_benchmark,
    load_benchmark,
    problems_from_rows,
    split_benchmark_spec,
)


def parse_benchmark_spec(spec: str) -> tuple[str, str]:
    """``name=path`` -> (name, path); a known name or alias -> (name, name); a path -> (file stem, path)."""
    try:
        name, spec = split_benchmark_spec(spec)
    except ProblemError as exc:
        raise UserError(str(exc)) from None
    if name is not None:
        return name, spec
    bench = find_benchmark(spec) if not Path(spec).exists() else None
    if bench is not None:
        return bench.name, bench.name
    return Path(spec).stem, spec


def load_problems(spec: str, limit: int | None = None, problem_key: str | None = None,
                  answer_key: str | None = None) -> list[Problem]:
    """Problems of a known benchmark, a local .json/.jsonl/.parquet file or NAME=PATH (first ``limit``); the keys
    name a file's problem / answer columns when they are not the usual ones."""
    _, source = parse_benchmark_spec(spec)
    bench = find_benchmark(source) if not Path(source).exists() else None
    try:
        if bench is not None:
            loaded = load_benchmark(bench)
            if loaded.note:
                print(f"note: {loaded.note}", file=sys.stderr)
            rows, origin = loaded.rows, loaded.origin
        else:
            rows, origin = _read_local(Path(source)), source
        problems = problems_from_rows(rows, origin, problem_key=problem_key, answer_key=answer_key)
    except ProblemError as exc:
        raise UserError(str(exc)) from None
    return problems[:limit] if limit else problems


def _read_local(path: Path) -> list[dict]:
    from deepscaler_grpo.data.records import DataError, read_local_file

    if not path.exists():
        names = ", ".join(benchmarks())
        if len(path.parts) == 1 and not path.suffix:  # meant as a benchmark name
            raise UserError(f"unknown benchmark {str(path)!r}: not a known name ({names}) and no such file; pass one of "
                            "those, a .json/.jsonl/.parquet file, or NAME=PATH")
        raise UserError(f"benchmark file not found: {path}; pass a .json/.jsonl/.parquet file, NAME=PATH, or one of: {names}")
    try:
        return read_local_file(path)
    except DataError as exc:
        raise UserError(str(exc)) from None
