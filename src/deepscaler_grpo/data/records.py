"""Reading raw math problems and shaping them for training: sources, answers, prompts.

``load_records`` reads a Hugging Face dataset name (through ``datasets.load_dataset``, which also
serves the offline cache) or a local ``.json`` (a list of objects, or JSON lines), ``.jsonl`` or
``.parquet`` file, and returns rows keyed ``problem``/``answer``/``solution`` whatever the source's
column names were. ``normalize_answer`` turns raw answers into strings (``142.0`` -> ``"142"``) or lists
of strings, and ``make_prompt`` builds the chat messages the policy sees.

    from deepscaler_grpo.data import load_records, make_prompt, normalize_answer
    rows = load_records("../shared/data/deepscaler/train_aime.json")
    make_prompt(rows[0]["problem"])   # [{"role": "user", "content": "...<answer>...</answer>..."}]
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from deepscaler_grpo.errors import UserError

DEFAULT_INSTRUCTION = (
    "{problem}\n\nSolve the problem step by step and put the final answer inside <answer> </answer> tags."
)
LOCAL_SUFFIXES = (".json", ".jsonl", ".parquet")
_DOLLAR_WRAPPED = re.compile(r"^\$+([^$]*)\$+$")


class DataError(UserError, ValueError):
    """A problem with the user's data or options; the message says what is wrong and how to fix it."""


def make_prompt(
    problem: str, instruction: str = DEFAULT_INSTRUCTION, system_prompt: str | None = None
) -> list[dict[str, str]]:
    """Chat messages for one problem: an optional system message, then the instruction as the user turn.

    ``{problem}`` in ``instruction`` is replaced by the problem; other braces (LaTeX such as
    ``\\boxed{}``) are left alone, unlike ``str.format``.
    """
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": instruction.replace("{problem}", problem)})
    return messages


def _scalar_to_str(value: Any, dollar_wrapped: re.Pattern = _DOLLAR_WRAPPED) -> str | None:
    """One answer as a trimmed string; integral floats lose their ``.0``; None/NaN/blank give None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return None
        if number.is_integer():
            return str(int(number))
        return repr(number) if math.isinf(number) else _plain_float(number)
    text = str(value).strip()
    wrapped = dollar_wrapped.match(text)  # OlympiadBench writes "$2n-2$"
    if wrapped:
        text = wrapped.group(1).strip()
    return text or None


def _plain_float(number: float) -> str:
    """Shortest round-tripping decimal without exponent notation (1e-07 -> 0.0000001)."""
    import numpy as np

    return np.format_float_positional(number, trim="-")


def normalize_answer(value: Any) -> str | list[str] | None:
    """A raw answer as a string, or a list of acceptable answers as a list of strings.

    ``142.0`` -> ``"142"``; ``" 5\\n"`` -> ``"5"``; ``"$2n$"`` -> ``"2n"``; lists, tuples and numpy
    arrays -> list of such strings with blanks and repeats removed (empty -> None); None, NaN and
    blank strings -> None.
    """
    if _is_sequence(value):
        items: list[str] = []
        for item in value:
            text = _scalar_to_str(item)
            if text is not None and text not in items:
                items.append(text)
        return items or None
    return _scalar_to_str(value)


def _is_sequence(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return True
    return type(value).__module__ == "numpy" and getattr(value, "ndim", 0) >= 1


def is_local_source(source: str, suffixes: tuple[str, ...] = LOCAL_SUFFIXES) -> bool:
    """True when ``source`` names a file (exists, has a data suffix or looks like a path)."""
    return Path(source).expanduser().exists() or source.lower().endswith(suffixes) or source.startswith((".", "/", "~"))


def load_records(
    source: str,
    problem_key: str = "problem",
    answer_key: str = "answer",
    solution_key: str = "solution",
    split: str = "train",
) -> list[dict[str, Any]]:
    """Rows ``{"problem", "answer", "solution"}`` (raw values; ``solution`` None when absent).

    ``source`` is a local .json/.jsonl/.parquet file or a Hugging Face dataset name (``split`` picks
    the split). Raises DataError naming the problem: missing or unreadable file, unreachable dataset,
    missing columns (listing the columns that are there).
    """
    if is_local_source(source):
        raw = read_local_file(Path(source).expanduser())
    else:
        raw = read_hf_dataset(source, split)
    return select_columns(raw, source, problem_key, answer_key, solution_key)


def select_columns(
    raw: list[dict[str, Any]], source: str, problem_key: str, answer_key: str, solution_key: str
) -> list[dict[str, Any]]:
    """Rename the mapped columns to problem/answer/solution, checking the required ones exist."""
    columns = _columns(raw)
    missing = [
        f"{key!r} ({option})"
        for key, option in ((problem_key, "--problem-key"), (answer_key, "--answer-key"))
        if key not in columns
    ]
    if missing:
        found = ", ".join(repr(c) for c in sorted(columns)) or "none"
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing)}; columns found: {found}. "
            "Map your column names with --problem-key / --answer-key."
        )
    return [
        {"problem": row.get(problem_key), "answer": row.get(answer_key), "solution": row.get(solution_key)}
        for row in raw
    ]


def _columns(rows: Iterable[dict[str, Any]]) -> set[str]:
    columns: set[str] = set()
    for row in rows:
        columns.update(row)
    return columns


def read_local_file(path: Path) -> list[dict[str, Any]]:
    """Rows of a local .json (list of objects or JSON lines), .jsonl or .parquet file."""
    if not path.exists():
        raise DataError(f"input file not found: {path}. Check the path (relative paths start at {Path.cwd()}).")
    if not path.is_file():
        raise DataError(f"{path} is not a file; pass a .json, .jsonl or .parquet file.")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path)
    if suffix not in (".json", ".jsonl"):
        raise DataError(f"{path}: unsupported file type {suffix!r}; use .json, .jsonl or .parquet.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {path}: {err}. Is it a UTF-8 text file?") from err
    rows = _parse_json_or_lines(text, path)
    if len(rows) == 1 and isinstance(rows[0], dict):
        _check_not_wrapped(rows[0], path)
    bad = next((i for i, row in enumerate(rows) if not isinstance(row, dict)), None)
    if bad is not None:
        raise DataError(
            f"{path}: record {bad} is {json_kind(rows[bad])}, expected an object with "
            "'problem' and 'answer' fields."
        )
    return rows


def _check_not_wrapped(obj: dict[str, Any], path: Path) -> None:
    """A file holding one JSON object is a list wrapped in an object ({"data": [...]}) or a single problem:
    both are almost always a mistake, so say what the file holds and what it should hold."""
    lists = [key for key, value in obj.items() if isinstance(value, list) and value and isinstance(value[0], dict)]
    if lists:
        key = lists[0]
        raise DataError(
            f"{path} holds one JSON object whose {key!r} field is a list of {len(obj[key])} records; prepare needs "
            f"the records themselves: a JSON list of objects or JSON lines (e.g. jq '.{key}' {path.name} > rows.json)."
        )
    if path.suffix.lower() == ".json" and path.read_text(encoding="utf-8").lstrip().startswith("{"):
        raise DataError(
            f"{path} holds a single JSON object (keys {', '.join(map(repr, obj))}), not a list of problems; wrap it "
            "in [ ... ] (a JSON list of objects) or write one object per line (JSON lines, .jsonl)."
        )


def _parse_json_or_lines(text: str, path: Path) -> list[Any]:
    stripped = text.lstrip()
    if not stripped:
        raise DataError(f"{path} is empty; it needs a JSON list of objects or JSON lines.")
    if stripped.startswith("[") and path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}).") from err
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise DataError(
                    f"{path} is neither a JSON list nor valid JSON lines (line {number}: {err.msg})."
                ) from err
    return rows


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"cannot read {path} as parquet: {err}. Is the file complete?") from err
    if table.num_rows == 0:
        raise DataError(
            f"{path} holds 0 rows (columns: {', '.join(table.column_names) or 'none'}); it needs at least one "
            "problem with an answer."
        )
    return table.to_pylist()


def read_hf_dataset(name: str, split: str = "train") -> list[dict[str, Any]]:
    """Rows of a Hugging Face dataset split; a clear DataError when it cannot be reached or found."""
    import datasets

    try:
        dataset = datasets.load_dataset(name, split=split)
    except Exception as err:  # network, auth, missing dataset/split: all end the same way for the user
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            f"could not load Hugging Face dataset {name!r} (split {split!r}): {reason}. "
            "Without network access, pass a local file (--source path/to/data.json|.jsonl|.parquet), "
            "or download the dataset once and set HF_HUB_OFFLINE=1 to use the local cache."
        ) from err
    return dataset.to_list()


def json_kind(value: Any) -> str:
    """How JSON would call ``value``, with its article: "a number", "a string", "a list", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    kinds = {int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    return next((kind for cls, kind in kinds.items() if isinstance(value, cls)), f"a {type(value).__name__}")
