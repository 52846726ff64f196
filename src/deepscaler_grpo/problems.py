"""Problems and benchmarks: the one contract that data preparation, training, validation, evaluation,
``score`` and the reward all read, so none of them can disagree about which answers a row accepts.

    from deepscaler_grpo.problems import Problem, accepted_answers, load_benchmark_rows
    accepted_answers({"answer": "1", "reward_model": {"ground_truth": ["1", "x=1"]}})  # ['1', 'x=1']
    rows = load_benchmark_rows("aime24")   # Hub, else ../shared/data/deepscaler/test_aime.json

A *row* is a dict from a prepared parquet (``prompt``, ``answer``, ``reward_model.ground_truth``), a raw
benchmark file (``problem``/``question`` + ``answer``/``final_answer``...), or a JSONL line to score. Its
accepted answers are ``reward_model.ground_truth`` when present (it keeps every accepted answer of a
multi-answer problem), else the first answer column found. :class:`Problem` is a row normalised.

The benchmark table (:func:`benchmarks`) names every known evaluation set once: where it lives on the Hub,
its local mirror in the DeepScaleR data folder, and whether ``prepare`` decontaminates against it by default.
``prepare --decontaminate-with`` and ``eval --benchmarks`` resolve names (and the aliases) through it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROBLEM_KEYS = ("problem", "question", "Problem", "Question", "input")
# reward_model.ground_truth first: it holds every accepted answer; the plain columns hold the first one.
ANSWER_KEYS = ("reward_model.ground_truth", "ground_truth", "answer", "final_answer", "expected_answer", "Answer", "gt")
MISSING = object()

Messages = list[dict[str, str]]


class ProblemError(ValueError):
    """A row or benchmark that cannot be used; the message says what it holds and what it should hold."""


# ------------------------------------------------------------------------------------------------ row contract


def lookup(row: Mapping[str, Any], key: str) -> Any:
    """``row[key]`` following dots into nested objects (``reward_model.ground_truth``); MISSING when absent."""
    value: Any = row
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def raw_ground_truth(row: Mapping[str, Any], keys: Sequence[str] = ANSWER_KEYS) -> Any:
    """The first non-null answer value of ``row`` under ``keys`` (MISSING when there is none)."""
    for key in keys:
        value = lookup(row, key)
        if value is not MISSING and value is not None:
            return value
    return MISSING


def accepted_answers(row: Mapping[str, Any], keys: Sequence[str] = ANSWER_KEYS) -> list[str]:
    """Every accepted answer of a row as strings (``142.0`` -> ``"142"``); [] when the row has none."""
    from deepscaler_grpo.data.records import normalize_answer

    value = raw_ground_truth(row, keys)
    if value is MISSING:
        return []
    normalized = normalize_answer(value)
    if normalized is None:
        return []
    return normalized if isinstance(normalized, list) else [normalized]


def ground_truth(answers: Sequence[str]) -> str | list[str]:
    """What the verifier is given: the single answer, or the list of accepted answers."""
    return answers[0] if len(answers) == 1 else list(answers)


@dataclass(frozen=True)
class Problem:
    """One problem as every stage sees it: chat ``prompt``, display ``problem`` and all accepted answers."""

    problem: str
    prompt: tuple[tuple[str, str], ...]  # (role, content) pairs: hashable and frozen
    answers: tuple[str, ...]
    data_source: str = ""

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], *, prompt_key: str = "prompt", instruction: str | None = None,
        problem_key: str | None = None, answer_key: str | None = None,
    ) -> Problem | None:
        """Normalise a prepared, raw-benchmark or scored row; None when it has no answer (skipped rows).
        ``problem_key`` / ``answer_key`` (dotted) name the columns when they are not the usual ones."""
        answers = accepted_answers(row, (answer_key,)) if answer_key else accepted_answers(row)
        if not answers:
            return None
        problem = raw_ground_truth(row, (problem_key,) if problem_key else PROBLEM_KEYS)
        prompt = row.get(prompt_key)
        if problem is MISSING and prompt is None:
            found = ", ".join(sorted(map(str, row))) or "none"
            raise ProblemError(f"row has no problem text: expected one of {PROBLEM_KEYS + (prompt_key,)}, found {found}")
        messages = _messages(prompt, None if problem is MISSING else str(problem), instruction)
        text = str(problem) if problem is not MISSING else messages[-1]["content"]
        return cls(text, tuple((m["role"], m["content"]) for m in messages), tuple(answers), str(row.get("data_source", "")))

    @property
    def messages(self) -> Messages:
        return [{"role": role, "content": content} for role, content in self.prompt]

    @property
    def ground_truth(self) -> str | list[str]:
        return ground_truth(self.answers)


def _messages(prompt: Any, problem: str | None, instruction: str | None) -> Messages:
    from deepscaler_grpo.data.records import DEFAULT_INSTRUCTION, make_prompt

    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if prompt is not None and len(prompt):
        return [{"role": m["role"], "content": m["content"]} for m in prompt]
    return make_prompt(problem or "", instruction or DEFAULT_INSTRUCTION)


def problems_from_rows(rows: Sequence[Mapping[str, Any]], source: str, **kwargs: Any) -> list[Problem]:
    """Problems of the rows that have an answer; a ProblemError naming ``source`` when none has one."""
    try:
        problems = [p for p in (Problem.from_row(row, **kwargs) for row in rows) if p is not None]
    except ProblemError as exc:
        raise ProblemError(f"{source}: {exc}") from None
    if not problems:
        columns = sorted({str(key) for row in rows[:50] for key in row}) if rows else []
        raise ProblemError(
            f"{source}: no rows with both a problem and an answer ({len(rows)} rows read, columns {columns}); "
            "name yours with --problem-key / --answer-key"
        )
    return problems


# ------------------------------------------------------------------------------------------------- benchmarks


@dataclass(frozen=True)
class Benchmark:
    """A known evaluation set: Hub source, local mirror, size, and its role in decontamination."""

    name: str
    hub_dataset: str
    hub_split: str
    local_file: str | None  # file name in the DeepScaleR data folder holding the same problems (None: no mirror)
    size: int
    description: str
    decontaminate: bool = False  # in prepare's default --decontaminate-with
    aliases: tuple[str, ...] = ()


def benchmarks() -> dict[str, Benchmark]:
    """Every benchmark name ``eval --benchmarks`` and ``prepare --decontaminate-with`` accept."""
    table = [
        Benchmark("aime24", "HuggingFaceH4/aime_2024", "train", "test_aime.json", 30, "AIME 2024 I and II",
                  decontaminate=True, aliases=("aime2024",)),
        Benchmark("amc23", "math-ai/amc23", "test", None, 40, "AMC 2023 (the 40-problem set of math-ai/amc23)",
                  aliases=("amc2023",)),
        Benchmark("amc", "AI-MO/aimo-validation-amc", "train", "test_amc.json", 83,
                  "AMC 12 2022 and 2023 (DeepScaleR's AMC set; contains amc23's contests)", decontaminate=True),
        Benchmark("math500", "HuggingFaceH4/MATH-500", "test", "test_math.json", 500, "MATH500", decontaminate=True),
        Benchmark("minerva", "math-ai/minervamath", "test", "test_minerva.json", 272, "Minerva Math"),
        Benchmark("olympiadbench", "math-ai/olympiadbench", "test", "test_olympiad_bench.json", 675,
                  "OlympiadBench (English, text-only, math)"),
    ]
    return {bench.name: bench for bench in table}


def find_benchmark(name: str) -> Benchmark | None:
    """The benchmark called ``name`` or one of its aliases (case-insensitive); None for anything else."""
    key = name.strip().lower()
    return next((b for b in benchmarks().values() if key == b.name or key in b.aliases), None)


def default_decontamination() -> tuple[str, ...]:
    return tuple(name for name, bench in benchmarks().items() if bench.decontaminate)


def benchmark_help() -> str:
    """One line per benchmark for ``--help`` texts."""
    lines = []
    for b in benchmarks().values():
        alias = f" (alias {', '.join(b.aliases)})" if b.aliases else ""
        local = f", local {b.local_file}" if b.local_file else ", Hub only"
        lines.append(f"{b.name}{alias}: {b.description}, {b.size} problems [{b.hub_dataset}{local}]")
    return "; ".join(lines)


def shared_data_dirs(cwd: Path | None = None) -> list[Path]:
    """Where local mirrors may be: $DEEPSCALER_SHARED_DATA, then ../shared/data/deepscaler from the working
    directory and from the repository this package lives in."""
    cwd = cwd or Path.cwd()
    repo_root = Path(__file__).resolve().parents[2]
    dirs = [Path(os.environ["DEEPSCALER_SHARED_DATA"])] if os.environ.get("DEEPSCALER_SHARED_DATA") else []
    return dirs + [cwd.parent / "shared/data/deepscaler", repo_root.parent / "shared/data/deepscaler"]


def local_mirror(bench: Benchmark, search_dirs: Sequence[Path] | None = None) -> Path | None:
    """The first existing local copy of ``bench``, if it has one."""
    if bench.local_file is None:
        return None
    dirs = shared_data_dirs() if search_dirs is None else search_dirs
    return next((d / bench.local_file for d in dirs if (d / bench.local_file).is_file()), None)


@dataclass(frozen=True)
class LoadedBenchmark:
    """Raw rows of a benchmark and where they came from (``note`` says why a fallback was used)."""

    name: str
    origin: str
    rows: list[dict[str, Any]]
    note: str = ""


def load_benchmark(
    bench: Benchmark, *, use_hub: bool = True, search_dirs: Sequence[Path] | None = None, flag: str = "--benchmarks"
) -> LoadedBenchmark:
    """Raw rows of a known benchmark: the Hub first (when reachable), else the local mirror.

    Both ``prepare`` (decontamination) and ``eval`` load through here, so a name means the same problems.
    """
    from deepscaler_grpo.data.records import DataError, read_hf_dataset, read_local_file

    reason = "Hub not tried"
    if use_hub and hub_available():
        try:
            return LoadedBenchmark(bench.name, bench.hub_dataset, read_hf_dataset(bench.hub_dataset, bench.hub_split))
        except DataError as exc:
            text = str(exc)
            offline = any(word in text.lower() for word in ("offline", "reach", "connection"))
            reason = "not on the Hub from here (offline or unreachable)" if offline else text.split(". Without")[0]
    elif use_hub:
        reason = "the Hugging Face Hub is unreachable"
    mirror = local_mirror(bench, search_dirs)
    if mirror is not None:
        note = f"{bench.name}: {reason}; using the local copy {mirror}"
        return LoadedBenchmark(bench.name, str(mirror), read_local_file(mirror), note)
    local = f"path/to/{bench.local_file}" if bench.local_file else "FILE.json"
    where = f"no {bench.local_file} in ../shared/data/deepscaler or $DEEPSCALER_SHARED_DATA" if bench.local_file else (
        "it has no local mirror")
    raise ProblemError(f"{bench.name} ({bench.hub_dataset}): {reason}; {where}. Pass a copy: {flag} {bench.name}={local}")


def hub_offline() -> bool:
    """``$HF_HUB_OFFLINE`` as huggingface_hub reads it: set to anything but 0/false/empty."""
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() not in ("0", "", "false")


def hub_available() -> bool:
    """Whether to try ``datasets.load_dataset``: yes with HF_HUB_OFFLINE set (it reads the cache, no network),
    else only when huggingface.co answers (an unreachable Hub costs a minute of retries)."""
    return hub_offline() or hub_reachable()


def split_benchmark_spec(spec: str) -> tuple[str | None, str]:
    """``NAME=TARGET`` -> (NAME, TARGET); anything else -> (None, spec). TARGET: a known name, a file or a dataset."""
    spec = spec.strip()
    if "=" not in spec:
        return None, spec
    name, _, target = spec.partition("=")
    if not name.strip() or not target.strip():
        raise ProblemError(f"bad benchmark {spec!r}: use NAME=PATH, e.g. aime24=../shared/data/deepscaler/test_aime.json")
    return name.strip(), target.strip()


@functools.cache
def hub_reachable(host: str = "huggingface.co", timeout_s: float = 3.0) -> bool:
    """A quick TCP probe of the Hub, once per process (prepare, eval and model loading all ask)."""
    import socket

    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True
