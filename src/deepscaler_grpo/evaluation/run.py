"""Evaluation runs: check the output folder and the context budgets, generate in saved batches (resumable), score
with the strict verifier (plus the training policy and math-verify when asked), write JSONL + summary.json.

    from deepscaler_grpo.evaluation import EvalConfig, run_eval
    summary = run_eval(EvalConfig(model="Qwen/Qwen3-4B-Instruct-2507", benchmarks=("aime24",), n=16, temperature=0.6))

:func:`evaluate` is the core for callers holding a backend (a backend, problems, a sampling -> :class:`EvalResult`);
training's ``val/accuracy`` and the demo call it through :func:`evaluate_model`, so they share eval's scoring.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.evaluation.metrics import EvalResult, score_responses, summarize
from deepscaler_grpo.evaluation.setup import EvalError
from deepscaler_grpo.generation import Backend, HFBackend, Sampling
from deepscaler_grpo.problems import Problem, problems_from_rows

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from deepscaler_grpo.evaluation.context import Budget
    from deepscaler_grpo.evaluation.store import EvalStore
    from deepscaler_grpo.reward import VerifierPolicy

# sequences per generation call (and per saved batch) when --batch-size is not given
DEFAULT_BATCH = {"hf": 16, "vllm": 1024}


def evaluate(
    backend: Backend, problems: Sequence[Problem], sampling: Sampling, k_values: Sequence[int] | None = None,
    policy: VerifierPolicy | None = None,
) -> EvalResult:
    """Generate ``sampling.n`` responses per problem and score them against every accepted answer."""
    responses = backend.generate([p.messages for p in problems], sampling)
    return score_responses(responses, [p.ground_truth for p in problems], k_values,
                           problems=[p.problem for p in problems], policy=policy)


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
    """One JSON-able dict per response (problem index, sample index, text, score, pred, format, extra verdicts)."""
    lines = []
    for i, rec in enumerate(result.records):
        extras = [key[len("accs_"):] for key in rec if key.startswith("accs_")]
        for j, text in enumerate(rec["responses"]):
            line = {"index": i, "sample": j, "problem": rec["problem"], "answer": rec["answer"], "response": text,
                    "pred": rec["preds"][j], "score": rec["scores"][j], "acc": rec["accs"][j],
                    "format": rec["formats"][j]}
            lines.append({**line, **{f"acc_{name}": rec[f"accs_{name}"][j] for name in extras}})
    return lines


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
    batch_size: int | None = None  # sequences per generation call and per saved batch (None: per backend)
    seed: int | None = 0
    limit: int | None = None
    problem_key: str | None = None  # a file's problem column when not problem/question/... (dotted keys reach in)
    answer_key: str | None = None  # its answer column when not reward_model.ground_truth/answer/...
    output_dir: str = "eval_results"
    backend: str = "auto"
    k_values: tuple[int, ...] | None = None
    dtype: str = "auto"
    max_prompt_tokens: int = 2048  # prompts longer than this are refused; lowered to fit the model's context
    progress: bool = True
    training_policy: str | None = None  # run folder, config.yaml or KEY=VALUE,... (default: the adapter's run)
    math_verify: bool = False
    protocol: str | None = None
    protocol_overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.benchmarks:
            raise EvalError("no benchmarks given: pass --benchmarks aime24,math500 or a file path")
        if self.n < 1:
            raise EvalError(f"--n must be >= 1 (got {self.n})")
        if self.temperature < 0:
            raise EvalError(f"--temperature must be >= 0 (got {self.temperature}); 0 means greedy")
        if not 0 < self.top_p <= 1:
            raise EvalError(f"--top-p must be in (0, 1] (got {self.top_p})")
        if self.max_tokens < 1 or (self.batch_size is not None and self.batch_size < 1) or self.max_prompt_tokens < 1:
            raise EvalError("--max-tokens, --max-prompt-tokens and --batch-size must be >= 1")
        if self.backend not in {"auto", "vllm", "hf"}:
            raise EvalError(f"--backend must be auto, vllm or hf (got {self.backend!r})")
        if self.limit is not None and self.limit < 1:
            raise EvalError(f"--limit must be >= 1 (got {self.limit})")
        if self.k_values and any(k < 1 or k > self.n for k in self.k_values):
            raise EvalError(f"--k values must be between 1 and --n {self.n} (got {list(self.k_values)}): pass@k needs "
                            "k samples per problem; raise --n")

    def sampling(self, seed: int | None) -> Sampling:
        return Sampling(n=self.n, temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens, seed=seed)

    def problems_per_batch(self, backend: str) -> int:
        sequences = self.batch_size or DEFAULT_BATCH[backend]
        return max(1, sequences // (self.n if self.temperature > 0 else 1))


def make_backend(config: EvalConfig, backend: str, budget: Budget) -> Backend:
    """Load the model once for the chosen backend (its progress bars off: run_eval shows one over the batches)."""
    if backend == "vllm":
        from deepscaler_grpo.generation.vllm import VLLMBackend, load_vllm
        from deepscaler_grpo.models import loadable_path

        llm, lora = load_vllm(loadable_path(config.model), config.adapter, budget.max_model_len, config.seed, config.dtype)
        return VLLMBackend(llm, lora, progress=False)
    from deepscaler_grpo.models import load_model

    model, tokenizer = load_model(config.model, config.adapter, config.dtype)
    return HFBackend(model, tokenizer, batch_size=config.batch_size or DEFAULT_BATCH["hf"], progress=False)


def batch_seed(seed: int | None, batch: str) -> int | None:
    """A batch's own seed, from the run's seed and the batch's id: a resumed batch samples as it would have."""
    if seed is None:
        return None
    return int.from_bytes(hashlib.sha256(f"{seed}:{batch}".encode()).digest()[:4], "little")


def collect_responses(
    store: EvalStore, name: str, problems: Sequence[Problem], lengths: Sequence[int], config: EvalConfig,
    backend_name: str, get_backend: Callable[[], Backend],
) -> list[list[str]]:
    """Every problem's ``n`` responses: those on disk, then the missing batches generated and appended one by one."""
    from tqdm.auto import tqdm

    from deepscaler_grpo.evaluation.store import plan_batches

    done = store.stored(name, config.n)
    per_batch = config.problems_per_batch(backend_name)
    todo = [(f"{per_batch}:{j}", [i for i in batch if i not in done])
            for j, batch in enumerate(plan_batches(lengths, per_batch))]
    todo = [(batch_id, indices) for batch_id, indices in todo if indices]
    if done:
        print(f"{name}: {len(done)} of {len(problems)} problems already on disk; generating {len(problems) - len(done)}")
    with tqdm(total=sum(len(i) for _, i in todo), desc=name, unit="problem", disable=not config.progress) as bar:
        for batch_id, indices in todo:
            sampling = config.sampling(batch_seed(config.seed, batch_id))
            responses = get_backend().generate([problems[i].messages for i in indices], sampling)
            store.append(name, batch_id, indices, responses)
            done.update(zip(indices, responses))
            bar.update(len(indices))
    return [done[i] for i in range(len(problems))]


def score_benchmark(
    problems: Sequence[Problem], responses: list[list[str]], config: EvalConfig,
    strict: VerifierPolicy, training: VerifierPolicy | None,
) -> EvalResult:
    """Strict verdicts (the headline), then the training policy's and math-verify's as extra columns."""
    from deepscaler_grpo.evaluation.verdicts import math_verify_verdicts, training_verdicts

    texts = [p.problem for p in problems]
    result = score_responses(responses, [p.ground_truth for p in problems], config.k_values, problems=texts,
                             policy=strict)
    records = result.records
    preds = [pred for r in records for pred in r["preds"]]
    truths = [r["answer"] for r in records for _ in r["preds"]]
    extras: dict[str, list[bool]] = {}
    if training is not None:
        extras["training"] = training_verdicts(preds, truths, [r["problem"] for r in records for _ in r["preds"]],
                                               training)
    if config.math_verify:
        extras["math_verify"] = math_verify_verdicts(preds, truths)
    for name, verdicts in extras.items():
        flat = iter(verdicts)
        for r in records:
            r[f"accs_{name}"] = [next(flat) for _ in r["preds"]]
    result.summary = summarize(records, config.k_values, list(extras))
    return result


def run_eval(config: EvalConfig) -> dict[str, Any]:
    """Check, generate (resuming what is on disk), score, write; returns the summary (``summary["benchmarks"]``:
    {benchmark: metrics}). summary.json is rewritten after each benchmark, so a crash keeps the finished ones."""
    from deepscaler_grpo.evaluation.provenance import digest_line
    from deepscaler_grpo.evaluation.setup import plan_eval

    plan = plan_eval(config)  # every check, before any model is loaded
    if plan.budget.note:
        print(f"note: {plan.budget.note}", file=sys.stderr)
    for line in plan.notes:
        print(f"note: {line}", file=sys.stderr)
    summary = plan.summary
    plan.store.start(summary)
    print(digest_line({**summary, "generation": plan.store.generation}))
    backend: list[Backend] = []

    def get_backend() -> Backend:
        if not backend:
            backend.append(make_backend(config, plan.backend, plan.budget))
        return backend[0]

    for name, problems in plan.benchmarks.items():
        started = time.perf_counter()
        responses = collect_responses(plan.store, name, problems, plan.lengths[name], config, plan.backend, get_backend)
        result = score_benchmark(problems, responses, config, plan.strict, plan.training)
        plan.store.write_scored(name, response_lines(result))
        summary["benchmarks"][name] = {**result.summary, "problems_sha256": plan.store.generation["benchmarks"][name],
                                       "seconds": round(time.perf_counter() - started, 2)}
        plan.store.write_summary(summary)
    summary["complete"] = True
    plan.store.write_summary(summary)
    return {**summary, "generation": plan.store.generation}
