"""Evaluation runs: generate with a backend, score with the verifier, write JSONL + summary.json, print a table.

    from deepscaler_grpo.evaluation import EvalConfig, run_eval
    run_eval(EvalConfig(model="Qwen/Qwen3-4B-Instruct-2507", benchmarks=("aime24",), n=16, temperature=0.6))

:func:`evaluate` is the core (a backend, problems, a sampling -> :class:`EvalResult`); training's
``val/accuracy`` and the demo call it through :func:`evaluate_model`, so they share eval's code path.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.evaluation.benchmarks import load_problems, parse_benchmark_spec
from deepscaler_grpo.evaluation.metrics import EvalResult, score_responses
from deepscaler_grpo.generation import Backend, HFBackend, Sampling
from deepscaler_grpo.generation.vllm import VLLMBackend, choose_backend, load_vllm
from deepscaler_grpo.io import write_json, write_jsonl
from deepscaler_grpo.problems import Problem, problems_from_rows

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class EvalError(UserError):
    """A user-facing problem (bad option, path, benchmark): printed without a traceback."""


def evaluate(
    backend: Backend, problems: Sequence[Problem], sampling: Sampling, k_values: Sequence[int] | None = None
) -> EvalResult:
    """Generate ``sampling.n`` responses per problem and score them against every accepted answer."""
    responses = backend.generate([p.messages for p in problems], sampling)
    return score_responses(
        responses, [p.ground_truth for p in problems], k_values, problems=[p.problem for p in problems]
    )


def evaluate_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    rows: list[Mapping[str, Any]],
    *,
    n: int = 1,
    temperature: float = 0.0,
    max_tokens: int = 1024,
    batch_size: int = 16,
    k_values: Sequence[int] | None = None,
    seed: int | None = None,
    progress: bool = True,
    top_p: float = 1.0,
) -> EvalResult:
    """:func:`evaluate` with HF generation on prepared or benchmark rows (greedy at temperature 0)."""
    backend = HFBackend(model, tokenizer, batch_size=batch_size, progress=progress)
    sampling = Sampling(n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed)
    return evaluate(backend, problems_from_rows(rows, "evaluation rows"), sampling, k_values)


def response_lines(result: EvalResult) -> list[dict[str, Any]]:
    """One JSON-able dict per response (problem index, sample index, text, score, pred, format)."""
    return [
        {
            "index": i,
            "sample": j,
            "problem": rec["problem"],
            "answer": rec["answer"],
            "response": text,
            "pred": rec["preds"][j],
            "score": rec["scores"][j],
            "acc": rec["accs"][j],
            "format": rec["formats"][j],
        }
        for i, rec in enumerate(result.records)
        for j, text in enumerate(rec["responses"])
    ]


def print_table(summaries: dict[str, dict[str, float]], title: str = "evaluation") -> None:
    """A table: one row per benchmark, pass@k / format columns in percent."""
    from rich.table import Table

    from deepscaler_grpo.console import make_console

    metric_keys = [k for k in next(iter(summaries.values())) if k.startswith("pass@")] + ["format_rate"]
    table = Table(title=title)
    table.add_column("benchmark")
    table.add_column("problems", justify="right")
    for key in metric_keys:
        table.add_column(key, justify="right")
    for bench, summary in summaries.items():
        cells = [f"{100 * summary[k]:.1f}%" if k in summary else "-" for k in metric_keys]
        table.add_row(bench, str(int(summary["num_problems"])), *cells)
    make_console().print(table)


@dataclass(frozen=True)
class EvalConfig:
    """Options of ``deepscaler-grpo eval``."""

    model: str
    benchmarks: tuple[str, ...]
    adapter: str | None = None
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 1024
    batch_size: int = 16
    seed: int | None = 0
    limit: int | None = None
    output_dir: str = "eval_results"
    backend: str = "auto"
    k_values: tuple[int, ...] | None = None
    dtype: str = "auto"
    max_prompt_tokens: int = 2048  # vLLM: context = this + max_tokens (the model's own maximum can be huge)
    progress: bool = True

    def __post_init__(self) -> None:
        if not self.benchmarks:
            raise EvalError("no benchmarks given: pass --benchmarks aime24,math500 or a file path")
        if self.n < 1:
            raise EvalError(f"--n must be >= 1 (got {self.n})")
        if self.temperature < 0:
            raise EvalError(f"--temperature must be >= 0 (got {self.temperature}); 0 means greedy")
        if not 0 < self.top_p <= 1:
            raise EvalError(f"--top-p must be in (0, 1] (got {self.top_p})")
        if self.max_tokens < 1 or self.batch_size < 1:
            raise EvalError("--max-tokens and --batch-size must be >= 1")
        if self.backend not in {"auto", "vllm", "hf"}:
            raise EvalError(f"--backend must be auto, vllm or hf (got {self.backend!r})")
        if self.limit is not None and self.limit < 1:
            raise EvalError(f"--limit must be >= 1 (got {self.limit})")
        if self.k_values and any(k < 1 for k in self.k_values):
            raise EvalError(f"--k values must be >= 1 (got {self.k_values})")

    @property
    def sampling(self) -> Sampling:
        return Sampling(n=self.n, temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens,
                        seed=self.seed)


def make_backend(config: EvalConfig, backend: str) -> Backend:
    """Load the model once for the chosen backend."""
    if backend == "vllm":
        from deepscaler_grpo.models import check_adapter, loadable_path, model_source

        model_source(config.model)  # a missing folder or unreachable Hub name fails here, as with hf
        if config.adapter is not None:
            check_adapter(config.adapter)
        max_len = config.max_tokens + config.max_prompt_tokens
        llm, lora = load_vllm(loadable_path(config.model), config.adapter, max_len, config.seed, config.dtype)
        return VLLMBackend(llm, lora, progress=config.progress)
    from deepscaler_grpo.models import load_model

    model, tokenizer = load_model(config.model, config.adapter, config.dtype)
    return HFBackend(model, tokenizer, batch_size=config.batch_size, progress=config.progress)


def run_eval(config: EvalConfig) -> dict[str, dict[str, float]]:
    """Load benchmarks, generate, score, write outputs; returns {benchmark: summary}.

    summary.json is rewritten after each benchmark, so a crash keeps the finished ones.
    """
    names = [parse_benchmark_spec(s)[0] for s in config.benchmarks]
    if len(set(names)) < len(names):
        raise EvalError(f"two benchmarks share a name in {names}: name them, e.g. --benchmarks a=x.json,b=y/x.json")
    benches = {name: load_problems(spec, config.limit) for name, spec in zip(names, config.benchmarks, strict=True)}
    backend_name = choose_backend(config.backend, config.model)
    backend = make_backend(config, backend_name)
    out_dir = Path(config.output_dir)
    meta = {k: v for k, v in asdict(config).items() if k != "progress"}
    summaries: dict[str, dict[str, float]] = {}
    for name, problems in benches.items():
        started = time.perf_counter()
        result = evaluate(backend, problems, config.sampling, config.k_values)
        write_jsonl(out_dir / f"{name}.jsonl", response_lines(result))
        summaries[name] = {**result.summary, "seconds": round(time.perf_counter() - started, 2)}
        write_json(out_dir / "summary.json", {"run": {**meta, "backend": backend_name}, "benchmarks": summaries})
    return summaries
