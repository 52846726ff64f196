"""Evaluation sets to decontaminate against: the defaults (AIME 2024, AMC 2023, MATH500) from the
Hugging Face Hub, falling back to the local copies in ``../shared/data/deepscaler/`` (or
$DEEPSCALER_SHARED_DATA) with a warning when the Hub cannot be reached; or any local file / dataset.

    from deepscaler_grpo.data.evalsets import load_eval_sets
    loaded, skipped = load_eval_sets(["aime2024", "amc2023", "math500", "my_test.jsonl"])
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deepscaler_grpo.data.records import DataError, is_local_source, read_hf_dataset, read_local_file


@dataclass(frozen=True)
class KnownEvalSet:
    """A standard benchmark: where it lives on the Hub and the local file that mirrors it."""

    hf_name: str
    hf_split: str
    local_file: str


KNOWN_EVAL_SETS = {
    "aime2024": KnownEvalSet("HuggingFaceH4/aime_2024", "train", "test_aime.json"),
    "amc2023": KnownEvalSet("AI-MO/aimo-validation-amc", "train", "test_amc.json"),
    "math500": KnownEvalSet("HuggingFaceH4/MATH-500", "test", "test_math.json"),
}
DEFAULT_EVAL_SETS = tuple(KNOWN_EVAL_SETS)


@dataclass(frozen=True)
class EvalSet:
    """Problems of one evaluation set and where they came from (for the report)."""

    name: str
    origin: str
    problems: tuple[str, ...]
    note: str = ""  # why a fallback was used, shown as a warning


def shared_data_dirs(cwd: Path | None = None) -> list[Path]:
    """Where the local copies may be: $DEEPSCALER_SHARED_DATA, ../shared/data/deepscaler from the
    working directory and from the repository this package lives in."""
    cwd = cwd or Path.cwd()
    repo_root = Path(__file__).resolve().parents[3]
    dirs = [Path(os.environ["DEEPSCALER_SHARED_DATA"])] if os.environ.get("DEEPSCALER_SHARED_DATA") else []
    dirs += [cwd.parent / "shared/data/deepscaler", repo_root.parent / "shared/data/deepscaler"]
    return dirs


def hub_reachable(host: str = "huggingface.co", timeout_s: float = 3.0) -> bool:
    """A quick TCP probe, so offline machines skip the Hub's minute of retries."""
    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def load_problems(spec: str, split: str = "train", problem_key: str = "problem") -> list[str]:
    """Problem texts of a local file or a Hugging Face dataset (DataError naming the columns when absent)."""
    rows = read_local_file(Path(spec).expanduser()) if is_local_source(spec) else read_hf_dataset(spec, split)
    if rows and problem_key not in rows[0]:
        found = ", ".join(repr(c) for c in rows[0])
        raise DataError(f"evaluation set {spec}: no {problem_key!r} column; columns found: {found}.")
    return [str(row[problem_key]) for row in rows if row.get(problem_key)]


def load_eval_sets(
    specs: Sequence[str],
    use_hub: bool = True,
    search_dirs: Sequence[Path] | None = None,
    known_sets: Mapping[str, KnownEvalSet] = KNOWN_EVAL_SETS,
) -> tuple[list[EvalSet], list[dict[str, str]]]:
    """Load each spec (a known name, a file, ``name=path`` or a dataset name).

    Known names try the Hub (when ``use_hub``) then the local mirrors; if neither works the set is
    skipped with a warning and listed in the second return value. Other specs must load or raise.
    """
    loaded: list[EvalSet] = []
    skipped: list[dict[str, str]] = []
    for spec in specs:
        name, _, target = spec.partition("=") if "=" in spec else ("", "", spec)
        if target in known_sets:
            dirs = shared_data_dirs() if search_dirs is None else search_dirs
            found, reason = _load_known(target, known_sets[target], use_hub, dirs)
            if found is None:
                skipped.append({"name": target, "reason": reason})
            else:
                loaded.append(found)
            continue
        label = name or (Path(target).stem if is_local_source(target) else target)
        loaded.append(EvalSet(label, target, tuple(load_problems(target))))
    return loaded, skipped


def _load_known(
    name: str, known: KnownEvalSet, use_hub: bool, search_dirs: Sequence[Path]
) -> tuple[EvalSet | None, str]:
    reason = f"Hugging Face dataset {known.hf_name} not loaded"
    if use_hub:
        try:
            problems = load_problems(known.hf_name, known.hf_split)
            return EvalSet(name, known.hf_name, tuple(problems)), ""
        except DataError as err:
            offline = "offline" in str(err).lower() or "reach" in str(err).lower()
            reason += " (Hub unreachable or offline)" if offline else f" ({str(err).split('. Without')[0]})"
    for folder in search_dirs:
        path = folder / known.local_file
        if path.is_file():
            note = f"{name}: {reason}; using the local copy {path}"
            return EvalSet(name, str(path), tuple(load_problems(str(path))), note), ""
    hint = f"pass a local copy with --decontaminate-with {name}=path/to/{known.local_file}"
    return None, f"{reason} and no local {known.local_file} was found; {hint}"
