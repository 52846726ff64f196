"""Everything ``eval`` checks before it loads a model, in order of cost, so a bad input stops in seconds:

1. the output folder (``outputs.check_output_dir``: not a file, writable; then not another kind of folder);
2. the benchmarks, the backend (vLLM installed and able to run this model here), the model and adapter paths,
   the verifier policies (strict headline; the training policy from the adapter's run or ``--training-policy``);
3. the generation settings (with the model and adapter content hashes) against an evaluation already in the folder:
   the same settings resume it, other settings are refused;
4. the context budgets, from the tokenizer and the model's config (``evaluation.context``);
5. the provenance and the summary skeleton that ``run_eval`` fills in.

    plan = plan_eval(EvalConfig(model="m", benchmarks=("aime24",)))   # raises UserError subclasses
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.evaluation.benchmarks import load_problems, parse_benchmark_spec
from deepscaler_grpo.evaluation.intervals import CONFIDENCE, INTERVAL_METHOD
from deepscaler_grpo.problems import Problem

if TYPE_CHECKING:
    from deepscaler_grpo.evaluation.context import Budget
    from deepscaler_grpo.evaluation.run import EvalConfig
    from deepscaler_grpo.evaluation.store import EvalStore
    from deepscaler_grpo.reward import VerifierPolicy


class EvalError(UserError):
    """A user-facing problem (bad option, path, benchmark): printed without a traceback."""


@dataclass
class EvalPlan:
    """What :func:`plan_eval` checked and resolved for ``run_eval``."""

    store: EvalStore
    benchmarks: dict[str, list[Problem]]
    lengths: dict[str, list[int]]
    budget: Budget
    backend: str
    strict: VerifierPolicy
    training: VerifierPolicy | None  # None: none known, or it grades as the strict policy does
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def plan_eval(config: EvalConfig) -> EvalPlan:
    """Run checks 1-5 of the module docstring; raises a UserError subclass naming the fix."""
    from deepscaler_grpo.evaluation.provenance import device_name, files_identity, sha256_json
    from deepscaler_grpo.evaluation.store import EvalStore, existing_evaluation
    from deepscaler_grpo.evaluation.verdicts import grades_alike, verifier_policies
    from deepscaler_grpo.generation.vllm import choose_backend, torch_dtype_name
    from deepscaler_grpo.models import check_adapter_fits, model_source
    from deepscaler_grpo.outputs import check_output_dir

    out = check_output_dir(config.output_dir, "--output-dir")
    existing_evaluation(out)
    benchmarks = load_benchmarks(config)
    model_source(config.model)  # a missing folder or an unreachable Hub name fails here, before any hashing
    if config.adapter is not None:
        check_adapter_fits(config.model, config.adapter)  # its LoRA layers fit this base: checked on meta tensors
    backend = choose_backend(config.backend, config.model)
    device = device_name(backend)
    dtype = torch_dtype_name(config.dtype, "cuda" if device.startswith("cuda") else "cpu")
    strict, training, source = verifier_policies(config.adapter, config.training_policy)
    model_id, adapter_id = files_identity(config.model), files_identity(config.adapter)
    generation = {
        "model": model_id["sha256"] or model_id["path"], "adapter": adapter_id and (adapter_id["sha256"] or adapter_id["path"]),
        "backend": backend, "dtype": dtype, "n": config.n, "temperature": config.temperature,
        "top_p": config.top_p, "max_tokens": config.max_tokens, "seed": config.seed,
        "benchmarks": {name: sha256_json([[p.prompt, p.answers] for p in problems]) for name, problems in benchmarks.items()},
    }
    store = EvalStore.check(out, generation)
    tokenizer, lengths, budget = budgets(config, benchmarks)
    notes = [f"--protocol {config.protocol} with {', '.join(config.protocol_overrides)}: not comparable with the "
             "protocol's published numbers"] if config.protocol_overrides else []
    if training is not None and grades_alike(strict, training):
        notes.append(f"the training policy ({source}) grades as the strict policy does: no separate column")
        training_used = None
    else:
        training_used = training
    scoring = {"policy": strict.as_dict(), "training_policy": training and training.as_dict(),
               "training_policy_source": source or None, "math_verify": config.math_verify}
    provenance = collect_provenance(device, model_id, adapter_id, tokenizer, benchmarks, budget)
    summary = summary_skeleton(config, backend, provenance, scoring, store)
    dropped = sorted(set(store.previous.get("benchmarks", {})) - set(summary["benchmarks"]))
    if dropped:
        notes.append(f"{', '.join(dropped)} in {out} were scored with other verifier settings and are left out of "
                     "summary.json; evaluate them again (their responses are reused) to include them")
    return EvalPlan(store, benchmarks, lengths, budget, backend, strict, training_used, summary, notes)


def budgets(config: EvalConfig, benchmarks: dict[str, list[Problem]]) -> tuple[Any, dict[str, list[int]], Budget]:
    """The tokenizer, every benchmark's rendered prompt lengths and the context budget (no model weights)."""
    from deepscaler_grpo.evaluation.context import check_budgets
    from deepscaler_grpo.models import load_tokenizer, prompt_lengths

    tokenizer = load_tokenizer(config.model)
    lengths = {name: prompt_lengths(tokenizer, [p.messages for p in problems]) for name, problems in benchmarks.items()}
    return tokenizer, lengths, check_budgets(config.model, lengths, config.max_prompt_tokens, config.max_tokens)


def collect_provenance(device: str, model_id: dict, adapter_id: dict | None, tokenizer: Any,
                       benchmarks: dict[str, list[Problem]], budget: Budget) -> dict[str, Any]:
    """What produced the numbers (``evaluation.provenance``), for summary.json."""
    from deepscaler_grpo.evaluation.provenance import code_version, library_versions, prompt_identity

    problems = [p for items in benchmarks.values() for p in items]
    return {
        "code": code_version(), "libraries": library_versions(), "device": device,
        "model": model_id, "adapter": adapter_id,
        "prompt": prompt_identity(problems, getattr(tokenizer, "chat_template", None)),
        "context": {"model_context": budget.context, "max_prompt_tokens": budget.max_prompt_tokens,
                    "longest_prompt": budget.longest_prompt, "max_model_len": budget.max_model_len},
    }


def summary_skeleton(config: EvalConfig, backend: str, provenance: dict[str, Any], scoring: dict[str, Any],
                     store: EvalStore) -> dict[str, Any]:
    """summary.json before the first result. An evaluation resumed in the same folder keeps the results of its other
    benchmarks when they were scored with the same settings (never a mix of verifier settings in one summary)."""
    same_scoring = store.previous.get("scoring") == scoring
    previous = store.previous.get("benchmarks", {}) if same_scoring else {}
    return {
        "run": run_meta(config, backend), "protocol": config.protocol,
        "protocol_overrides": list(config.protocol_overrides), "complete": False,
        "provenance": provenance, "scoring": scoring,
        "intervals": {"confidence": CONFIDENCE, "method": INTERVAL_METHOD},
        "benchmarks": dict(previous),
    }


def load_benchmarks(config: EvalConfig) -> dict[str, list[Problem]]:
    names = [parse_benchmark_spec(s)[0] for s in config.benchmarks]
    if len(set(names)) < len(names):
        raise EvalError(f"two benchmarks share a name in {names}: name them, e.g. --benchmarks a=x.json,b=y/x.json")
    return {name: load_problems(spec, config.limit, config.problem_key, config.answer_key)
            for name, spec in zip(names, config.benchmarks, strict=True)}


def run_meta(config: EvalConfig, backend: str) -> dict[str, Any]:
    """The options as given (summary.json's ``run``)."""
    meta = {k: v for k, v in asdict(config).items() if k not in ("progress", "protocol_overrides")}
    return {**meta, "output_dir": str(Path(config.output_dir)), "backend": backend}
