"""Paired comparison of two evaluations of the same problems (``deepscaler-grpo compare A B``, :mod:`.compare_cli`).

A and B are eval output folders, or checkpoints of a run (``RUN/global_step_N`` or its ``adapter``), whose evaluation
is looked for in ``CHECKPOINT/eval``; a checkpoint without one stops with the exact ``eval`` command that makes it
(with the other side's settings, so the two can be compared), nothing is evaluated behind the user's back.

Per benchmark in both: each side's pass@1 with its interval, the paired difference B - A with its interval and
p-value (``intervals.paired_difference``), and the problems that flipped each way (a problem is *solved* when at
least half its samples are right; with one sample, when it is right). Evaluations that differ in their problems,
decoding (n, temperature, top-p, max tokens, prompt templates) or verifier policy are refused, naming the field,
unless ``force``.

    a, b = load_pair("eval_results/base", "runs/x/global_step_50")
    result = compare(a, b)            # Comparison; result.benchmarks["aime24"].difference.p_value
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.evaluation.intervals import Interval, PairedResult, mean_interval, paired_difference
from deepscaler_grpo.evaluation.store import read_summary, scored_file, settings_differences
from deepscaler_grpo.evaluation.verdicts import GRADING_FIELDS
from deepscaler_grpo.io import read_jsonl

if TYPE_CHECKING:
    from deepscaler_grpo.evaluation.metrics import EvalResult

DECODING_FIELDS = ("n", "temperature", "top_p", "max_tokens")
EVAL_SUBDIR = "eval"


class CompareError(UserError):
    """Two evaluations that cannot be compared as asked; the message says why and what to run."""


class MissingEvaluation(CompareError):
    """A checkpoint that has not been evaluated yet."""

    def __init__(self, checkpoint: Path):
        super().__init__(f"{checkpoint} has no evaluation yet")
        self.checkpoint = checkpoint


@dataclass
class Side:
    """One evaluation: its folder, summary.json and per benchmark {(problem, answer): verdicts of its samples}."""

    folder: Path
    summary: dict[str, Any]
    verdicts: dict[str, dict[tuple[str, str, int], list[bool]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``global_step_50`` for an adapter saved by training, else the adapter or model folder's name."""
        run = self.summary.get("run", {})
        path = Path(run.get("adapter") or run.get("model") or str(self.folder))
        return path.parent.name if path.name == "adapter" else path.name


@dataclass(frozen=True)
class BenchmarkComparison:
    """B vs A on one benchmark's common problems."""

    a: Interval
    b: Interval
    paired: PairedResult
    gained: list[str]  # problems solved by B, not by A
    lost: list[str]  # problems solved by A, not by B


@dataclass
class Comparison:
    a: Side
    b: Side
    benchmarks: dict[str, BenchmarkComparison]
    differences: list[str]  # settings that differ (only with force)
    notes: list[str]


# ------------------------------------------------------------------------------------------------ loading


def load_pair(a: str | Path, b: str | Path) -> tuple[Side, Side]:
    """Both sides; for checkpoints not evaluated yet, one :class:`CompareError` holding the eval commands to run
    (each with the other side's settings when that side is an evaluation)."""
    sides: list[Side | None] = []
    missing: list[Path] = []
    for path in (a, b):
        try:
            sides.append(load_side(path))
        except MissingEvaluation as exc:
            sides.append(None)
            missing.append(exc.checkpoint)
    if missing:
        other = next((side for side in sides if side is not None), None)
        commands = " && ".join(eval_command(checkpoint, other) for checkpoint in missing)
        raise CompareError(f"{' and '.join(map(str, missing))} not evaluated yet; run: {commands}")
    return sides[0], sides[1]  # type: ignore[return-value]


def load_side(path: str | Path) -> Side:
    """An eval folder, or a checkpoint with an evaluation in ``CHECKPOINT/eval`` (:class:`MissingEvaluation` when
    it has none)."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise CompareError(f"{folder} does not exist: pass an eval output folder or a checkpoint (RUN/global_step_N)")
    checkpoint = checkpoint_folder(folder)
    if checkpoint is not None and read_summary(folder) is None:
        folder = checkpoint / EVAL_SUBDIR
        if read_summary(folder) is None:
            raise MissingEvaluation(checkpoint)
    summary = read_summary(folder)
    if summary is None or "benchmarks" not in summary:
        raise CompareError(f"{folder} holds no summary.json of deepscaler-grpo eval: pass an eval --output-dir")
    side = Side(folder, summary)
    for bench in summary["benchmarks"]:
        side.verdicts[bench] = problem_verdicts(scored_file(folder, bench))
    return side


def problem_verdicts(path: Path) -> dict[tuple[str, str, int], list[bool]]:
    """{(problem text, answer, occurrence): its samples' verdicts} from a scored ``<bench>.jsonl``; a problem
    that a benchmark holds twice is told apart by its occurrence (0, 1, ...), so both sides pair up the same way."""
    if not path.is_file():
        raise CompareError(f"{path} is missing: the evaluation did not finish; rerun its eval command to complete it")
    return verdicts_by_problem(read_jsonl(path))


def verdicts_by_problem(lines: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, int], list[bool]]:
    """Group response lines (``index``, ``sample``, ``problem``, ``answer``, ``acc``; eval's ``<bench>.jsonl`` or
    ``evaluation.response_lines``) by problem, keyed by (problem text, answer, occurrence)."""
    keys: dict[int, tuple[str, str, int]] = {}
    seen: dict[tuple[str, str], int] = defaultdict(int)
    found: dict[tuple[str, str, int], dict[int, bool]] = defaultdict(dict)
    for line in lines:
        index = int(line["index"])
        if index not in keys:
            text = (str(line["problem"]), str(line["answer"]))
            keys[index] = (*text, seen[text])
            seen[text] += 1
        found[keys[index]][int(line["sample"])] = bool(line["acc"])
    return {key: [samples[j] for j in sorted(samples)] for key, samples in found.items()}


def checkpoint_folder(folder: Path) -> Path | None:
    """``RUN/global_step_N`` for that folder or its ``adapter`` subfolder; None for anything else."""
    folder = folder.resolve()
    if folder.name == "adapter" and folder.parent.name.startswith("global_step_"):
        return folder.parent
    return folder if folder.name.startswith("global_step_") and (folder / "adapter").is_dir() else None


def eval_command(checkpoint: Path, other: Side | None) -> str:
    """The eval command for a checkpoint: the other side's benchmarks and decoding when known, else the run's
    validation set and validation sampling; written to ``CHECKPOINT/eval``."""
    from deepscaler_grpo.config import load_config

    cfg = load_config([], str(checkpoint.parent / "config.yaml")) if (checkpoint.parent / "config.yaml").is_file() else None
    model = cfg.actor_rollout_ref.model.path if cfg else "BASE_MODEL"
    if other is not None:
        run = other.summary["run"]
        options = {"benchmarks": ",".join(run["benchmarks"]), "n": run["n"], "temperature": run["temperature"],
                   "top-p": run["top_p"], "max-tokens": run["max_tokens"], "seed": run["seed"], "limit": run.get("limit")}
    else:
        vk = cfg.actor_rollout_ref.rollout.val_kwargs if cfg else None
        options = {"benchmarks": f"val={cfg.data.val_files}" if cfg else "BENCHMARKS", "n": vk.n if vk else 1,
                   "temperature": vk.temperature if vk and vk.do_sample else 0.0,
                   "max-tokens": cfg.data.max_response_length if cfg else 1024}
    flags = " ".join(f"--{key} {value}" for key, value in options.items() if value is not None)
    return (f"deepscaler-grpo eval --model {model} --adapter {checkpoint / 'adapter'} {flags} "
            f"--output-dir {checkpoint / EVAL_SUBDIR}")


# ------------------------------------------------------------------------------------------------ checks


def setting_differences(a: Side, b: Side) -> list[str]:
    """What makes the two evaluations incomparable: problems, decoding, prompt templates, verifier policy."""
    def differing(fields: tuple[str, ...], of_a: dict[str, Any], of_b: dict[str, Any]) -> list[str]:
        return settings_differences({k: of_b.get(k) for k in fields}, {k: of_a.get(k) for k in fields},
                                    labels=("in A", "in B"))

    diffs = differing(DECODING_FIELDS, a.summary.get("generation", {}), b.summary.get("generation", {}))
    pa, pb = (s.summary.get("provenance", {}).get("prompt", {}) for s in (a, b))
    for key in ("instruction_templates_sha256", "system_prompts_sha256"):
        if pa.get(key) != pb.get(key):
            diffs.append(f"prompt {key.removesuffix('_sha256').replace('_', ' ')}")
    qa, qb = (s.summary.get("scoring", {}).get("policy", {}) for s in (a, b))
    diffs += [f"verifier {d}" for d in differing(GRADING_FIELDS, qa, qb)]
    for bench in sorted(set(a.verdicts) & set(b.verdicts)):
        if set(a.verdicts[bench]) != set(b.verdicts[bench]):
            diffs.append(f"problems of {bench}")
    return diffs


def compare(a: Side, b: Side, force: bool = False) -> Comparison:
    """B vs A on every benchmark both hold; :class:`CompareError` when their settings differ (unless ``force``)."""
    common = [name for name in a.summary["benchmarks"] if name in b.summary["benchmarks"]]
    if not common:
        raise CompareError(f"no benchmark in common: A has {sorted(a.verdicts)}, B has {sorted(b.verdicts)}")
    differences = setting_differences(a, b)
    if differences and not force:
        raise CompareError(f"A and B were evaluated differently ({'; '.join(differences)}): evaluate them with the "
                           "same settings, or pass --force to compare anyway")
    notes = [f"only in {side}: {', '.join(names)}" for side, names in
             (("A", sorted(set(a.verdicts) - set(common))), ("B", sorted(set(b.verdicts) - set(common)))) if names]
    results = {}
    for name in common:
        results[name] = compare_benchmark(a.verdicts[name], b.verdicts[name])
        if results[name].paired.num_problems < len(a.verdicts[name]):
            notes.append(f"{name}: compared on the {results[name].paired.num_problems} problems both evaluated")
    return Comparison(a, b, results, differences if force else [], notes)


Verdicts = dict[tuple[str, str, int], list[bool]]


def compare_benchmark(a: Verdicts, b: Verdicts) -> BenchmarkComparison:
    """Intervals, the paired test and the flips on the problems both sides evaluated (in A's order)."""
    keys = [key for key in a if key in b]
    if not keys:
        raise CompareError("no problem in common between A and B")
    sa = [sum(a[k]) / len(a[k]) for k in keys]
    sb = [sum(b[k]) / len(b[k]) for k in keys]
    na, nb = min(len(a[k]) for k in keys), min(len(b[k]) for k in keys)
    n = na * nb // math.gcd(na, nb)  # differences are multiples of 1/lcm(n_A, n_B)
    gained = [k[0] for k, x, y in zip(keys, sa, sb) if x < 0.5 <= y]
    lost = [k[0] for k, x, y in zip(keys, sa, sb) if y < 0.5 <= x]
    return BenchmarkComparison(mean_interval(sa, na), mean_interval(sb, nb), paired_difference(sa, sb, n),
                               gained, lost)


def paired_summary(a: EvalResult, b: EvalResult) -> dict[str, Any]:
    """B - A of two in-memory evaluations of the same problems (the demo's before/after), as ``compare`` measures it:
    the paired difference with its 95% interval, the exact p-value and how many problems flipped each way."""
    from deepscaler_grpo.evaluation.run import response_lines

    result = compare_benchmark(verdicts_by_problem(response_lines(a)), verdicts_by_problem(response_lines(b)))
    diff = result.paired.difference
    return {"difference": diff.estimate, "ci_low": diff.low, "ci_high": diff.high, "p_value": result.paired.p_value,
            "problems": result.paired.num_problems, "fixed": len(result.gained), "broken": len(result.lost)}


def comparison_json(result: Comparison) -> dict[str, Any]:
    """compare.json: both folders, the settings that differed (with --force) and each benchmark's numbers."""
    from deepscaler_grpo.evaluation.intervals import CONFIDENCE, PAIRED_METHOD

    def interval(i: Interval) -> dict[str, float]:
        return {"estimate": i.estimate, "ci_low": i.low, "ci_high": i.high}

    return {
        "a": {"folder": str(result.a.folder), "label": result.a.label},
        "b": {"folder": str(result.b.folder), "label": result.b.label},
        "forced_differences": result.differences, "notes": result.notes,
        "confidence": CONFIDENCE, "method": PAIRED_METHOD,
        "benchmarks": {name: {"problems": c.paired.num_problems, "a_pass@1": interval(c.a), "b_pass@1": interval(c.b),
                              "difference": interval(c.paired.difference), "p_value": c.paired.p_value,
                              "gained": c.gained, "lost": c.lost}
                       for name, c in result.benchmarks.items()},
    }
