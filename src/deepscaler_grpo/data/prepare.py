"""Data preparation, the steps: raw math problems -> train.parquet, val.parquet, prepare_report.json (the CLI is ``data.cli``).

Steps (each counted in the report): load -> trim whitespace and normalise answers (drop rows with no
problem or answer) -> drop exact and near-duplicate problems -> drop problems overlapping evaluation
sets (word n-grams) -> drop prompts longer than --max-prompt-length tokens -> carve the validation split.

    deepscaler-grpo prepare --source ../shared/data/deepscaler/train_math.json \\
        --output-dir data/deepscaler --val-size 500 --tokenizer Qwen/Qwen3-4B-Instruct-2507 --max-prompt-length 1024
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deepscaler_grpo.data.clean import Decontaminator
from deepscaler_grpo.data.evalsets import EvalSet, load_eval_sets
from deepscaler_grpo.data.output import (
    answer_type_counts,
    check_outputs_free,
    output_records,
    parquet_schema,
    percentiles,
    write_outputs,
)
from deepscaler_grpo.data.pipeline import (
    Row,
    decontaminate,
    deduplicate,
    fuzzy_deduplicate,
    measure_lengths,
    normalize_rows,
    resolve_val_size,
    split_indices,
    templated_prompts,
)
from deepscaler_grpo.data.records import (
    DEFAULT_INSTRUCTION,
    DataError,
    is_local_source,
    load_records,
    make_prompt,
)
from deepscaler_grpo.problems import default_decontamination

DEFAULT_SOURCE = "agentica-org/DeepScaleR-Preview-Dataset"
DROP_REASONS = (
    "missing_problem",
    "missing_answer",
    "exact_duplicate",
    "near_duplicate",
    "overlaps_val",
    "fuzzy_duplicate",
    "contaminated",
    "too_long",
)


@dataclass(frozen=True)
class PrepareConfig:
    """Everything ``prepare`` needs; checked on creation with messages that say how to fix."""

    sources: tuple[str, ...] = (DEFAULT_SOURCE,)
    output_dir: str = "data/deepscaler"
    split: str = "train"
    problem_key: str = "problem"
    answer_key: str = "answer"
    solution_key: str = "solution"
    instruction: str = DEFAULT_INSTRUCTION
    system_prompt: str | None = None
    data_source: str | None = None
    val_size: float | None = None
    val_source: str | None = None
    val_split: str = "train"
    seed: int = 42
    decontaminate_with: tuple[str, ...] = field(default_factory=default_decontamination)
    ngram: int = 8
    overlap_threshold: float = 0.5
    fuzzy_threshold: float = 0.85
    token_stats_sample: int = 4096
    tokenizer: str | None = None
    max_prompt_length: int | None = None
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if not self.sources:
            raise DataError("no --source given; pass a dataset name or a .json/.jsonl/.parquet file.")
        if "{problem}" not in self.instruction:
            raise DataError("--instruction must contain the placeholder {problem} where the problem goes.")
        if self.val_size is not None and self.val_source is not None:
            raise DataError("use either --val-size (carve from the source) or --val-source, not both.")
        if self.val_size is not None and (self.val_size < 0 or (self.val_size >= 1 and self.val_size % 1)):
            raise DataError(f"--val-size {self.val_size:g}: give a row count (e.g. 500) or a fraction in (0, 1).")
        if self.max_prompt_length is not None and (self.tokenizer is None or self.max_prompt_length < 1):
            raise DataError("--max-prompt-length needs --tokenizer NAME_OR_PATH and a positive length.")
        if self.ngram < 1 or not 0 < self.overlap_threshold <= 1:
            raise DataError("--ngram must be >= 1 and --overlap-threshold in (0, 1].")
        if self.token_stats_sample < 0:
            raise DataError("--token-stats-sample must be >= 0 (0 measures every prompt).")
        if not 0 <= self.fuzzy_threshold <= 1:
            raise DataError("--fuzzy-threshold must be in [0, 1] (0 turns fuzzy deduplication off).")


def source_label(source: str) -> str:
    """``data_source`` of rows from ``source``: the file name without suffix, or the dataset name."""
    return Path(source).stem if is_local_source(source) else source


def load_tokenizer(name_or_path: str) -> Any:
    """The tokenizer for the length filter (deepscaler_grpo.models: a missing folder fails at once)."""
    from deepscaler_grpo.models import load_tokenizer as load

    return load(name_or_path, padding_side=None)


class StepLog:
    """Counts for one input (rows left after each step, dropped per reason)."""

    def __init__(self, rows: int) -> None:
        self.input = rows
        self.steps: list[dict[str, Any]] = [{"step": "loaded", "dropped": None, "rows": rows}]
        self.dropped: Counter = Counter()
        self.answer_conflicts = 0  # duplicates dropped whose answer differed from the kept copy

    def add(self, reason: str, dropped: int, rows: int) -> None:
        self.dropped[reason] += dropped
        self.steps.append({"step": reason, "dropped": dropped, "rows": rows})

    def as_dict(self, kept: int, reasons: tuple[str, ...] = DROP_REASONS) -> dict[str, Any]:
        dropped = {reason: self.dropped.get(reason, 0) for reason in reasons}
        return {"input": self.input, "dropped": dropped, "kept": kept, "steps": self.steps}


Loaded = list[tuple[str, list[Row]]]  # (data_source label, raw rows) per source


def load_sources(sources: tuple[str, ...], config: PrepareConfig, split: str) -> Loaded:
    """Raw rows of every source, labelled with their ``data_source``."""
    return [
        (
            config.data_source or source_label(source),
            load_records(source, config.problem_key, config.answer_key, config.solution_key, split=split),
        )
        for source in sources
    ]


def normalize_logged(loaded: Loaded) -> tuple[list[Row], StepLog, Counter]:
    """Trim and normalise every source; logs the rows lost to missing problems/answers."""
    rows: list[Row] = []
    drops: Counter = Counter()
    changes: Counter = Counter()
    total = 0
    for label, raw in loaded:
        total += len(raw)
        kept, dropped, changed = normalize_rows(raw, label)
        rows += kept
        drops.update(dropped)
        changes.update(changed)
    log = StepLog(total)
    log.add("missing_problem", drops["missing_problem"], total - drops["missing_problem"])
    log.add("missing_answer", drops["missing_answer"], len(rows))
    return rows, log, changes


def dedup_logged(rows: list[Row], log: StepLog, fuzzy_threshold: float, seen: set[str] | None = None) -> list[Row]:
    """Deduplicate and log exact, near, fuzzy (and validation-overlap) drops as separate steps."""
    kept, drops = deduplicate(rows, seen)
    log.answer_conflicts += drops["answer_conflicts"]
    remaining = len(rows)
    for reason in (
        ("overlaps_val", "exact_duplicate", "near_duplicate")
        if seen is not None
        else ("exact_duplicate", "near_duplicate")
    ):
        remaining -= drops[reason]
        log.add(reason, drops[reason], remaining)
    if fuzzy_threshold > 0:
        kept, dropped = fuzzy_deduplicate(kept, fuzzy_threshold)
        log.add("fuzzy_duplicate", dropped, len(kept))
    return kept


def length_logged(rows: list[Row], log: StepLog, config: PrepareConfig, tokenizer: Any) -> tuple[list[Row], list[int]]:
    """Drop prompts over the token limit after the chat template; returns (rows, sampled token counts)."""
    if tokenizer is None:
        return rows, []
    texts = templated_prompts(tokenizer, [r["problem"] for r in rows], config.instruction, config.system_prompt)
    keep, sampled = measure_lengths(
        tokenizer, texts, config.max_prompt_length, config.token_stats_sample, config.seed, config.progress
    )
    kept = [row for row, ok in zip(rows, keep) if ok]
    if config.max_prompt_length is not None:
        log.add("too_long", len(rows) - len(kept), len(kept))
    return kept, sampled


@dataclass
class Prepared:
    """Cleaned rows of both splits, sampled prompt token counts (empty without a tokenizer), the counts."""

    train: list[Row]
    val: list[Row]
    token_sample: list[int]
    log: StepLog
    val_log: StepLog | None
    changes: Counter
    contaminated: Counter
    val_source_problems: int = 0  # validation problems the training rows were checked against


def clean_inputs(
    config: PrepareConfig,
    loaded: Loaded,
    val_loaded: Loaded | None,
    eval_problems: dict[str, tuple[str, ...]],
    tokenizer: Any,
) -> Prepared:
    """Normalise, deduplicate, decontaminate, length-filter and split (see the module docstring)."""
    rows, log, changes = normalize_logged(loaded)
    val_rows: list[Row] = []
    val_log = None
    if val_loaded is not None:
        val_rows, val_log, _ = normalize_logged(val_loaded)
        val_rows = dedup_logged(val_rows, val_log, config.fuzzy_threshold)
        eval_problems = {**eval_problems, "val_source": tuple(row["problem"] for row in val_rows)}
    rows = dedup_logged(rows, log, config.fuzzy_threshold, {row["key"] for row in val_rows} if val_log else None)
    contaminated: Counter = Counter()
    if any(eval_problems.values()):
        decontaminator = Decontaminator(eval_problems, n=config.ngram, threshold=config.overlap_threshold)
        rows, contaminated = decontaminate(rows, decontaminator)
    log.add("contaminated", sum(contaminated.values()), len(rows))
    rows, token_sample = length_logged(rows, log, config, tokenizer)
    if val_log is not None:
        val_rows, val_sample = length_logged(val_rows, val_log, config, tokenizer)
        token_sample += val_sample
    else:
        train_idx, val_idx = split_indices(len(rows), resolve_val_size(config.val_size, len(rows)), config.seed)
        rows, val_rows = [rows[i] for i in train_idx], [rows[i] for i in val_idx]
    prepared = Prepared(
        rows, val_rows, token_sample, log, val_log, changes, contaminated, len(eval_problems.get("val_source", ()))
    )
    _check_not_empty(prepared, config)
    return prepared


STEP_HINTS = {
    "missing_problem": "rows without a problem: check --problem-key",
    "missing_answer": "rows without an answer: check --answer-key",
    "exact_duplicate": "duplicates",
    "near_duplicate": "near-duplicates (same text after normalisation)",
    "overlaps_val": "rows that are also in the --val-source",
    "fuzzy_duplicate": "fuzzy duplicates: raise --fuzzy-threshold or 0 to turn it off",
    "contaminated": "decontamination against the evaluation sets: see --decontaminate-with / --no-decontaminate",
    "too_long": "the length filter: raise --max-prompt-length",
}


def _check_not_empty(prepared: Prepared, config: PrepareConfig, hints: dict[str, str] = STEP_HINTS) -> None:
    def summary(part: StepLog) -> str:
        return ", ".join(f"{reason} {n}" for reason, n in part.dropped.items() if n) or "nothing dropped"

    log, val_log = prepared.log, prepared.val_log
    if not prepared.train:
        steps = [f"{n} by {hints.get(reason, reason)}" for reason, n in log.dropped.items() if n]
        raise DataError(
            f"no training rows left after cleaning: {log.input} loaded, removed {'; '.join(steps) or 'none'}."
        )
    if val_log is not None and not prepared.val:
        raise DataError(
            f"no validation rows left from {config.val_source} ({val_log.input} loaded; dropped: {summary(val_log)})."
        )


def build_report(
    config: PrepareConfig,
    prepared: Prepared,
    eval_sets: list[EvalSet],
    skipped: list[dict[str, str]],
    prompts: dict[str, list[list[dict[str, str]]]],
    list_truth: bool,
) -> dict[str, Any]:
    """The JSON report: counts per step, modifications, decontamination, answer types, prompt lengths."""
    carved = 0 if prepared.val_log else len(prepared.val)
    counts = {"source": prepared.log.as_dict(len(prepared.train) + carved)}
    sets = [
        {
            "name": s.name,
            "origin": s.origin,
            "problems": len(s.problems),
            "removed": prepared.contaminated.get(s.name, 0),
            "note": s.note,
        }
        for s in eval_sets
    ]
    if prepared.val_log is not None:
        counts["val_source"] = prepared.val_log.as_dict(len(prepared.val))
        sets.append(
            {
                "name": "val_source",
                "origin": config.val_source,
                "problems": prepared.val_source_problems,
                "removed": prepared.contaminated.get("val_source", 0),
                "note": "the validation problems",
            }
        )
    chars = [sum(len(m["content"]) for m in p) for p in prompts["train"] + prompts["val"]]
    return {
        "sources": list(config.sources),
        "val_source": config.val_source,
        "output_dir": config.output_dir,
        "outputs": {"train": len(prepared.train), "val": len(prepared.val)},
        "counts": counts,
        "modified": {key: prepared.changes[key] for key in ("whitespace_trimmed", "answer_normalized")},
        "duplicates_with_other_answer": prepared.log.answer_conflicts,
        "decontamination": {
            "ngram": config.ngram,
            "overlap_threshold": config.overlap_threshold,
            "sets": sets,
            "skipped": skipped,
        },
        "answer_types": {"train": answer_type_counts(prepared.train), "val": answer_type_counts(prepared.val)},
        "ground_truth_type": "list[str]" if list_truth else "str",
        "prompt_length": {"chars": percentiles(chars), "tokens": percentiles(prepared.token_sample)},
        "prompt_tokens_measured_on": len(prepared.token_sample),
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
    }


def run_prepare(config: PrepareConfig, warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every step, write the outputs atomically and return the report (also saved as JSON)."""
    warn = warn or (lambda message: print(f"warning: {message}", file=sys.stderr))
    started = time.perf_counter()
    from deepscaler_grpo.outputs import check_output_dir, writing

    output_dir = check_output_dir(config.output_dir, "--output-dir")
    check_outputs_free(output_dir, config.overwrite)
    tokenizer = load_tokenizer(config.tokenizer) if config.tokenizer else None  # before the data: fails fast offline
    loaded = load_sources(config.sources, config, config.split)
    val_loaded = load_sources((config.val_source,), config, config.val_split) if config.val_source else None
    eval_sets, skipped = load_eval_sets(config.decontaminate_with)
    for message in [s.note for s in eval_sets if s.note] + [
        f"decontamination against {s['name']} skipped: {s['reason']}" for s in skipped
    ]:
        warn(message)
    prepared = clean_inputs(config, loaded, val_loaded, {s.name: s.problems for s in eval_sets}, tokenizer)
    if not prepared.val:
        warn(
            f"the validation split is empty ({len(prepared.train)} training rows after cleaning are too few to carve "
            "one); pass --val-source FILE or more data, or train with data.val_files=null"
        )
    list_truth = any(not isinstance(row["answer"], str) for row in prepared.train + prepared.val)
    prompts = {
        split: [make_prompt(r["problem"], config.instruction, config.system_prompt) for r in rows]
        for split, rows in (("train", prepared.train), ("val", prepared.val))
    }
    tables = {
        f"{split}.parquet": output_records(getattr(prepared, split), prompts[split], split, list_truth)
        for split in ("train", "val")
    }
    report = build_report(config, prepared, eval_sets, skipped, prompts, list_truth)
    report["seconds"] = round(time.perf_counter() - started, 3)
    with writing(output_dir, "--output-dir"):
        write_outputs(output_dir, tables, parquet_schema(list_truth), report)
    return report


