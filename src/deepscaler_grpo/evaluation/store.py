"""An evaluation's output folder, written so that a crash loses at most one batch and two evaluations never mix.

Layout of ``--output-dir``:

* ``summary.json``: results, provenance and the *generation settings* (what decides the responses: model and
  adapter content hashes, backend, dtype, n, temperature, top-p, max tokens, seed, and each benchmark's problems
  hash), written before the first response;
* ``<bench>.responses.jsonl``: the responses as generated, appended one batch at a time (one write + fsync per
  batch, each line tagged with its batch and the batch's line count, so a batch torn by a crash is recognised and
  dropped on resume);
* ``<bench>.jsonl``: every response with its verdicts, written (atomically) once the benchmark is scored.

Rules (:meth:`EvalStore.check`): a new or empty folder starts an evaluation; a folder holding an evaluation with the
same generation settings resumes it (only missing problems are generated; scoring runs again, so the verifier
settings may change); a folder holding an evaluation with other settings, or anything else, is refused with the
setting that differs. Nothing is ever versioned or deleted behind the user's back.

    store = EvalStore.check(Path("eval_results"), generation)   # raises StoreError on a mismatch
    store.start(summary)                                         # writes summary.json
    done = store.stored("aime24", n=16)                          # {problem index: [16 responses]}
    store.append("aime24", batch="1:3", indices=[6, 7], responses=[[...16], [...16]])   # batch ids: unique
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.io import read_jsonl, write_json, write_jsonl
from deepscaler_grpo.outputs import writing

SUMMARY_FILE = "summary.json"
FORMAT = "deepscaler-grpo eval 2"
RESPONSES_SUFFIX = ".responses.jsonl"


class StoreError(UserError):
    """An output folder that holds something else; the message names the difference and the fix."""


def responses_file(folder: Path, bench: str) -> Path:
    return folder / f"{bench}{RESPONSES_SUFFIX}"


def scored_file(folder: Path, bench: str) -> Path:
    return folder / f"{bench}.jsonl"


def read_summary(folder: Path) -> dict[str, Any] | None:
    """The folder's summary.json as a dict; None when absent or unreadable."""
    try:
        data = json.loads((folder / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def settings_differences(ours: Mapping[str, Any], theirs: Mapping[str, Any], skip: Sequence[str] = (),
                         labels: tuple[str, str] = ("there", "here")) -> list[str]:
    """``field: X there, Y here`` for every field whose values differ (missing fields count as None)."""
    names = sorted((set(ours) | set(theirs)) - set(skip))
    return [f"{name}: {theirs.get(name)!r} {labels[0]}, {ours.get(name)!r} {labels[1]}" for name in names
            if ours.get(name) != theirs.get(name)]


def existing_evaluation(folder: Path) -> dict[str, Any] | None:
    """The summary of the evaluation in ``folder`` (None: no folder, or an empty one); :class:`StoreError` when it
    holds anything else. Reads one file: cheap enough to run before any other work."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    found = read_summary(folder)
    if found is None or "generation" not in found:
        kind = "an evaluation without resume information (an older version)" if found else "files of something else"
        raise StoreError(f"--output-dir {folder} holds {kind}; pass a new or empty --output-dir")
    return found


class EvalStore:
    """One evaluation's output folder (see the module docstring)."""

    def __init__(self, folder: Path, generation: Mapping[str, Any], previous: Mapping[str, Any] | None = None):
        self.folder = folder
        self.generation = dict(generation)
        self.previous = dict(previous or {})  # the summary found in the folder (resume), else empty

    @classmethod
    def check(cls, folder: Path, generation: Mapping[str, Any]) -> EvalStore:
        """Accept ``folder`` for an evaluation with ``generation`` settings, or raise :class:`StoreError`; writes
        nothing."""
        found = existing_evaluation(folder)
        if found is None:
            return cls(folder, generation)
        stored = found["generation"]
        differences = settings_differences(generation, stored, skip=("benchmarks",))
        theirs, ours = stored.get("benchmarks", {}), generation.get("benchmarks", {})
        differences += [f"problems of {name} (another file or --limit)" for name in ours
                        if name in theirs and theirs[name] != ours[name]]
        if differences:
            raise StoreError(f"--output-dir {folder} holds an evaluation with other settings ({'; '.join(differences)}); "
                             "pass another --output-dir, or delete that folder to start over")
        merged = {**generation, "benchmarks": {**theirs, **ours}}
        return cls(folder, merged, found)

    # ------------------------------------------------------------------------------------------ writing

    def start(self, summary: Mapping[str, Any]) -> None:
        """Write summary.json (with the generation settings) before anything is generated."""
        self.write_summary(summary)

    def write_summary(self, summary: Mapping[str, Any]) -> Path:
        with writing(self.folder, "--output-dir"):
            return write_json(self.folder / SUMMARY_FILE, {"format": FORMAT, **summary, "generation": self.generation})

    def write_scored(self, bench: str, lines: Sequence[Mapping[str, Any]]) -> Path:
        with writing(self.folder, "--output-dir"):
            return write_jsonl(scored_file(self.folder, bench), lines)

    def append(self, bench: str, batch: str, indices: Sequence[int], responses: Sequence[Sequence[str]]) -> None:
        """Append one batch's responses in one write, then fsync: after a crash the batch is there whole, or it is
        recognised as torn (fewer lines than its ``batch_lines``) and dropped."""
        rows = [{"index": i, "sample": j, "batch": batch, "response": text}
                for i, samples in zip(indices, responses, strict=True) for j, text in enumerate(samples)]
        data = "".join(json.dumps({**row, "batch_lines": len(rows)}, ensure_ascii=False) + "\n" for row in rows)
        with writing(self.folder, "--output-dir"):
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(responses_file(self.folder, bench), "ab") as handle:
                handle.write(data.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())

    # ------------------------------------------------------------------------------------------ reading

    def stored(self, bench: str, n: int) -> dict[int, list[str]]:
        """The responses on disk for ``bench``: {problem index: its ``n`` responses}, from whole batches only.

        A torn or partial batch (a crash mid-write) is dropped and the file rewritten without it, so the next
        append never follows a broken line."""
        path = responses_file(self.folder, bench)
        if not path.is_file():
            return {}
        kept = whole_batches(read_jsonl(path))
        if len(kept) != len(path.read_bytes().splitlines()):
            with writing(self.folder, "--output-dir"):
                write_jsonl(path, kept)
        samples: dict[int, dict[int, str]] = defaultdict(dict)
        for row in kept:
            samples[int(row["index"])][int(row["sample"])] = row["response"]
        return {i: [got[j] for j in range(n)] for i, got in samples.items() if set(got) == set(range(n))}


def whole_batches(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows of batches that are complete (as many rows as their ``batch_lines``), each (index, sample) once."""
    by_batch: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        if {"index", "sample", "batch", "batch_lines", "response"} <= set(row):
            by_batch[row["batch"]].append(row)
    kept, seen = [], set()
    for batch_rows in by_batch.values():
        keys = {(r["index"], r["sample"]) for r in batch_rows}
        if len(batch_rows) != batch_rows[0]["batch_lines"] or len(keys) != len(batch_rows) or keys & seen:
            continue
        seen |= keys
        kept.extend(batch_rows)
    return kept


def plan_batches(lengths: Sequence[int], per_batch: int) -> list[list[int]]:
    """Problem indices in batches of ``per_batch``, longest prompts first (similar lengths share a batch, and an
    out-of-memory error shows at once). The plan depends only on the prompts and the batch size, so a resumed
    evaluation regenerates exactly the batches that were lost, with the same seeds."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + per_batch] for i in range(0, len(order), max(per_batch, 1))]
