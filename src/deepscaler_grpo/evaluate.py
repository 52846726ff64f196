"""Evaluation: sample n responses per problem, score them with the verifier, report pass@k.

pass@1 is the mean accuracy over the n samples (averaged over problems); pass@k uses the unbiased
estimator ``1 - C(n-c, k) / C(n, k)`` (Chen et al., 2021) in its numerically stable product form;
format rate is the fraction of responses with a non-empty ``<answer>`` tag. Generation uses vLLM when
it is installed (``--backend auto``) and batched Hugging Face ``generate`` otherwise. The trainer's
``val/accuracy`` is ``evaluate_model(...).summary["pass@1"]``: the same code path.

    deepscaler-grpo eval --model Qwen/Qwen3-4B-Instruct-2507 --adapter runs/x/global_step_100/adapter \\
        --benchmarks aime24=../shared/data/deepscaler/test_aime.json,math500 --n 16 --temperature 0.6

Writes DIR/<bench>.jsonl (every response with its score and extracted answer) and DIR/summary.json,
and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.io import atomic_write_text

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Messages = list[dict[str, str]]
BatchScorer = Callable[[list[str], list[Any]], list[dict[str, Any]]]

# Column names seen across the usual math benchmark datasets, in order of preference.
PROBLEM_KEYS = ("problem", "question", "Problem", "Question", "input")
ANSWER_KEYS = ("answer", "final_answer", "expected_answer", "Answer", "gt", "ground_truth")


class EvalError(Exception):
    """A user-facing problem (bad path, unknown benchmark, ...): printed without a traceback."""


@dataclass(frozen=True)
class HubBenchmark:
    """Where a named benchmark lives on the Hugging Face Hub."""

    dataset: str
    split: str
    local_hint: str  # file name in the DeepScaleR data folder with the same problems


def known_benchmarks() -> dict[str, HubBenchmark]:
    """Benchmark names accepted by ``--benchmarks`` and their Hub datasets."""
    return {
        "aime24": HubBenchmark("HuggingFaceH4/aime_2024", "train", "test_aime.json"),
        "amc23": HubBenchmark("math-ai/amc23", "test", "test_amc.json"),
        "math500": HubBenchmark("HuggingFaceH4/MATH-500", "test", "test_math.json"),
        "minerva": HubBenchmark("math-ai/minervamath", "test", "test_minerva.json"),
        "olympiadbench": HubBenchmark("math-ai/olympiadbench", "test", "test_olympiad_bench.json"),
    }


@dataclass
class EvalResult:
    """Scores of one evaluation: ``summary`` (pass@k, format_rate, counts) and one record per problem."""

    summary: dict[str, float]
    records: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------------------- pass@k


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with ``c`` correct out of ``n`` samples (needs k <= n)."""
    import numpy as np

    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i): no huge binomials.
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def default_k_values(n: int) -> list[int]:
    """Powers of two up to ``n``, plus ``n`` itself: 1, 2, 4, ..., n."""
    ks = {2**i for i in range(int(math.log2(n)) + 1)} if n >= 1 else set()
    return sorted(ks | {n}) if n >= 1 else []


# -------------------------------------------------------------------------------------- scoring


def default_scorer() -> BatchScorer:
    """The project's verifier, batched (``deepscaler_grpo.reward.score_batch``: symbolic checks in parallel)."""
    from deepscaler_grpo.reward import score_batch

    return score_batch


def score_responses(
    responses: list[list[str]],
    ground_truths: list,
    k_values: Sequence[int] | None = None,
    *,
    problems: Sequence[str] | None = None,
    scorer: BatchScorer | None = None,
) -> EvalResult:
    """Score ``responses[i][j]`` (sample j of problem i) against ``ground_truths[i]``.

    Returns pass@1 (mean accuracy over samples), pass@k for each k <= n, the format rate and counts.
    ``scorer(texts, truths) -> [{score, acc, pred, format}]`` defaults to the project's verifier.
    """
    if len(responses) != len(ground_truths):
        raise ValueError(f"{len(responses)} response lists but {len(ground_truths)} ground truths")
    if not responses:
        raise ValueError("nothing to score: no problems were given")
    flat = [(i, text) for i, samples in enumerate(responses) for text in samples]
    results = iter((scorer or default_scorer())([t for _, t in flat], [ground_truths[i] for i, _ in flat]))
    records = []
    for i, samples in enumerate(responses):
        scored = [next(results) for _ in samples]
        records.append(
            {
                "problem": problems[i] if problems is not None else None,
                "answer": ground_truths[i],
                "responses": list(samples),
                "scores": [float(r["score"]) for r in scored],
                "accs": [bool(r["acc"]) for r in scored],
                "preds": [r.get("pred") for r in scored],
                "formats": [bool(r.get("format", False)) for r in scored],
            }
        )
    return EvalResult(summary=summarize(records, k_values), records=records)


def summarize(records: list[dict[str, Any]], k_values: Sequence[int] | None = None) -> dict[str, float]:
    """pass@k / format rate / counts from per-problem records with ``accs`` and ``formats`` lists."""
    import numpy as np

    sizes = [len(r["accs"]) for r in records]
    n_min = min(sizes)
    if n_min == 0:
        raise ValueError("every problem needs at least one response to score")
    ks = sorted(set(k_values)) if k_values else default_k_values(n_min)
    summary: dict[str, float] = {}
    for k in ks:
        if k <= n_min:
            summary[f"pass@{k}"] = float(np.mean([pass_at_k(len(r["accs"]), sum(r["accs"]), k) for r in records]))
    summary["pass@1"] = float(np.mean([np.mean(r["accs"]) for r in records]))
    summary["format_rate"] = float(np.mean([f for r in records for f in r["formats"]]))
    summary["num_problems"] = len(records)
    summary["num_samples"] = int(sum(sizes))
    summary["samples_per_problem"] = n_min
    return dict(sorted(summary.items(), key=_summary_order))


def _summary_order(item: tuple[str, float]) -> tuple[int, int]:
    key = item[0]
    if key.startswith("pass@"):
        return (0, int(key[5:]))
    return (1, ["format_rate", "num_problems", "num_samples", "samples_per_problem"].index(key))


# ----------------------------------------------------------------------------------- generation


def stop_token_ids(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel | None = None) -> list[int]:
    """EOS ids to stop at: the tokenizer's eos, ``<|im_end|>`` when known, the model's generation eos."""
    ids: list[int] = []
    candidates: list[Any] = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")]
    if model is not None and getattr(model, "generation_config", None) is not None:
        candidates.append(model.generation_config.eos_token_id)
    for cand in candidates:
        for tid in cand if isinstance(cand, list) else [cand]:
            if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid not in ids:
                ids.append(tid)
    return ids


def render_prompts(tokenizer: PreTrainedTokenizerBase, prompts: Iterable[Messages | str]) -> list[str]:
    """Chat-template each message list (with the assistant generation prompt); strings pass through.

    Tokenizers without a chat template (base models) get the message contents joined by blank lines.
    """
    if not getattr(tokenizer, "chat_template", None):
        return [p if isinstance(p, str) else "\n\n".join(m["content"] for m in p) + "\n\n" for p in prompts]
    return [
        p if isinstance(p, str) else tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]


def generate_hf(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[Messages],
    *,
    n: int,
    temperature: float,
    top_p: float = 1.0,
    max_tokens: int,
    batch_size: int = 16,
    seed: int | None = None,
    progress: bool = True,
    sort_by_length: bool = True,
) -> list[list[str]]:
    """``n`` responses per chat prompt with batched ``model.generate`` (left padding, stop at EOS).

    ``temperature == 0`` is greedy: one generation per prompt, repeated ``n`` times. ``batch_size`` counts
    sequences (prompts x samples) per forward pass. Prompts are batched longest-first, so similar
    lengths share a batch and an out-of-memory error shows up at once; the output keeps input order.
    """
    import torch

    if n < 1 or max_tokens < 1:
        raise ValueError(f"need n >= 1 and max_tokens >= 1, got n={n}, max_tokens={max_tokens}")
    n_gen = n if temperature > 0 else 1
    texts = render_prompts(tokenizer, prompts)
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: -lengths[i]) if sort_by_length else list(range(len(texts)))
    per_batch = max(1, batch_size // n_gen)
    batches = [order[i : i + per_batch] for i in range(0, len(order), per_batch)]
    gen_kwargs = generation_kwargs(tokenizer, model, n_gen, temperature, top_p, max_tokens)
    outputs: list[list[str]] = [[] for _ in texts]
    was_training, old_side = model.training, tokenizer.padding_side
    devices = [model.device.index or 0] if model.device.type == "cuda" else []
    # Seed a private copy of the RNG: validation inside training must not reset the trainer's random stream.
    with torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        model.eval()
        tokenizer.padding_side = "left"
        try:
            for idx, decoded in _generate_batches(model, tokenizer, texts, batches, gen_kwargs, progress):
                for j, i in enumerate(idx):
                    outputs[i] = decoded[j * n_gen : (j + 1) * n_gen] * (n // n_gen)
        finally:
            model.train(was_training)
            tokenizer.padding_side = old_side
    return outputs


def _generate_batches(
    model: Any, tokenizer: Any, texts: list[str], batches: list[list[int]], gen_kwargs: dict, progress: bool
) -> Iterable[tuple[list[int], list[str]]]:
    """(prompt indices, decoded new text for each returned sequence) per batch, with a progress bar."""
    import torch
    from tqdm.auto import tqdm

    with torch.inference_mode(), tqdm(total=len(texts), desc="generate", disable=not progress) as bar:
        for idx in batches:
            enc = tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
            out = model.generate(**enc.to(model.device), **gen_kwargs)
            yield idx, tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            bar.update(len(idx))


def generation_kwargs(
    tokenizer: PreTrainedTokenizerBase,
    model: PreTrainedModel,
    n_gen: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
) -> dict[str, Any]:
    """``generate`` arguments; sampling knobs are set explicitly so model defaults (Qwen's top_k=20) don't leak in."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_tokens,
        "num_return_sequences": n_gen,
        "eos_token_id": stop_token_ids(tokenizer, model),
        "pad_token_id": pad,
        "use_cache": True,  # training may have turned the cache off for gradient checkpointing
    }
    if temperature > 0:
        kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    return kwargs


def load_vllm(model: str, adapter: str | None, max_model_len: int, seed: int | None) -> tuple[Any, Any]:
    """A vLLM engine (LoRA enabled when ``adapter``) and the matching ``LoRARequest`` (or None)."""
    from vllm import LLM
    from vllm.lora.request import LoRARequest

    rank = json.loads((Path(adapter) / "adapter_config.json").read_text())["r"] if adapter else 0
    llm = LLM(model=model, enable_lora=adapter is not None, max_lora_rank=max(16, rank),
              max_model_len=max_model_len, seed=seed or 0)
    return llm, LoRARequest("adapter", 1, str(adapter)) if adapter else None


def generate_vllm(
    llm: Any,
    prompts: list[Messages],
    *,
    lora_request: Any = None,
    n: int,
    temperature: float,
    top_p: float = 1.0,
    max_tokens: int,
    seed: int | None = None,
) -> list[list[str]]:
    """``n`` responses per chat prompt with a vLLM engine from ``load_vllm`` (chat template applied by vLLM)."""
    from vllm import SamplingParams

    params = SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed)
    outputs = llm.chat(prompts, params, lora_request=lora_request, use_tqdm=True)
    return [[c.text for c in out.outputs] for out in outputs]


def vllm_available() -> bool:
    """True when vLLM imports and a CUDA GPU is visible (vLLM needs one)."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


# ---------------------------------------------------------------------------------- evaluation


def row_ground_truth(row: dict[str, Any]) -> Any:
    """The acceptable answer(s) of a row: ``reward_model.ground_truth`` (prepared data) or ``answer``."""
    reward_model = row.get("reward_model")
    if isinstance(reward_model, dict) and reward_model.get("ground_truth") is not None:
        return _plain(reward_model["ground_truth"])
    return _plain(row["answer"])


def evaluate_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    rows: list[dict],
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
    """Generate with ``generate_hf`` for rows with ``prompt`` + ``answer`` and score them (greedy at temperature 0)."""
    responses = generate_hf(
        model,
        tokenizer,
        [row["prompt"] for row in rows],
        n=n,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
    )
    return score_responses(
        responses,
        [row_ground_truth(row) for row in rows],
        k_values,
        problems=[row.get("problem", "") for row in rows],
    )


# -------------------------------------------------------------------------------- benchmarks


def parse_benchmark_spec(spec: str) -> tuple[str, str]:
    """``name=path`` -> (name, path); a known name -> (name, name); a path -> (file stem, path)."""
    spec = spec.strip()
    if "=" in spec:
        name, _, source = spec.partition("=")
        if not name.strip() or not source.strip():
            raise EvalError(
                f"bad benchmark {spec!r}: use NAME=PATH, e.g. aime24=../shared/data/deepscaler/test_aime.json"
            )
        return name.strip(), source.strip()
    if spec.lower() in known_benchmarks():
        return spec.lower(), spec.lower()
    return Path(spec).stem, spec


def load_benchmark(spec: str, limit: int | None = None) -> list[dict]:
    """Rows with ``prompt`` (chat messages), ``problem`` and ``answer`` from a known name, a local file or NAME=PATH."""
    _, source = parse_benchmark_spec(spec)
    hub = known_benchmarks()
    if source in hub and not Path(source).exists():
        raw = _load_hub(source, hub[source])
    else:
        raw = _load_local(Path(source))
    rows = [_to_row(r, source, i) for i, r in enumerate(raw)]
    rows = [r for r in rows if r is not None]
    if not rows:
        raise EvalError(f"{source}: no rows with both a problem and an answer")
    return rows[:limit] if limit else rows


def _load_hub(name: str, bench: HubBenchmark) -> list[dict]:
    import datasets

    from deepscaler_grpo.data.evalsets import hub_reachable

    hint = (
        f"Use a local file instead, e.g. --benchmarks {name}=../shared/data/deepscaler/{bench.local_hint} "
        "(.json/.jsonl/.parquet with problem and answer columns)"
    )
    if not os.environ.get("HF_HUB_OFFLINE") and not hub_reachable():  # skip a minute of retries
        raise EvalError(
            f"benchmark {name!r} lives on the Hugging Face Hub ({bench.dataset}), which is unreachable from here.\n"
            f"{hint}; or, if it is in your datasets cache, set HF_HUB_OFFLINE=1."
        )
    try:
        return datasets.load_dataset(bench.dataset, split=bench.split).to_list()
    except Exception as exc:  # offline, gated, renamed: all end the same way for the user
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EvalError(
            f"could not load benchmark {name!r} ({bench.dataset}, split {bench.split}): {reason}\n{hint}"
        ) from exc


def _load_local(path: Path) -> list[dict]:
    from deepscaler_grpo.data.records import DataError, read_local_file

    if not path.exists():
        names = ", ".join(known_benchmarks())
        raise EvalError(
            f"benchmark file not found: {path}\nGive a .json/.jsonl/.parquet file, NAME=PATH, or one of: {names}"
        )
    try:
        return read_local_file(path)
    except DataError as exc:
        raise EvalError(str(exc)) from exc


def _first(row: dict[str, Any], keys: Sequence[str]) -> Any:
    return next((row[k] for k in keys if row.get(k) is not None), None)


def _to_row(raw: dict[str, Any], source: str, index: int) -> dict[str, Any] | None:
    """Normalize one raw record; ``None`` for rows without an answer (e.g. null answers in train_math)."""
    from deepscaler_grpo.data import make_prompt, normalize_answer

    problem = _first(raw, PROBLEM_KEYS)
    prompt = raw.get("prompt")
    if problem is None and prompt is None:
        raise EvalError(f"{source}: row {index} has none of the columns {PROBLEM_KEYS + ('prompt',)}")
    answer = row_ground_truth({**raw, "answer": _first(raw, ANSWER_KEYS)})
    answer = normalize_answer(answer)
    if answer is None or answer == []:
        return None
    if isinstance(prompt, str):
        prompt = [{"role": "user", "content": prompt}]
    elif prompt is None:
        prompt = make_prompt(str(problem))
    else:
        prompt = [{"role": m["role"], "content": m["content"]} for m in prompt]
    problem = str(problem) if problem is not None else prompt[-1]["content"]
    return {"problem": problem, "prompt": prompt, "answer": answer}


def _plain(value: Any) -> Any:
    """numpy arrays / tuples -> lists so answers serialize to JSON and compare simply."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


# ------------------------------------------------------------------------------------ outputs




def response_lines(result: EvalResult) -> list[dict[str, Any]]:
    """One JSON-able dict per response (problem index, sample index, text, score, pred, format)."""
    lines = []
    for i, rec in enumerate(result.records):
        for j, text in enumerate(rec["responses"]):
            lines.append(
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
            )
    return lines


def write_jsonl(path: str | Path, lines: Iterable[dict[str, Any]]) -> Path:
    """Atomically write JSON lines."""
    return atomic_write_text(path, "".join(json.dumps(line, ensure_ascii=False, default=str) + "\n" for line in lines))


def print_table(summaries: dict[str, dict[str, float]], title: str = "evaluation") -> None:
    """A rich table: one row per benchmark, pass@k / format columns in percent."""
    from rich.console import Console
    from rich.table import Table

    metric_keys = [k for k in next(iter(summaries.values())) if k.startswith("pass@")] + ["format_rate"]
    table = Table(title=title)
    table.add_column("benchmark")
    table.add_column("problems", justify="right")
    for key in metric_keys:
        table.add_column(key, justify="right")
    for bench, summary in summaries.items():
        cells = [f"{100 * summary[k]:.1f}" if k in summary else "-" for k in metric_keys]
        table.add_row(bench, str(int(summary["num_problems"])), *cells)
    Console().print(table)


# ---------------------------------------------------------------------------------------- CLI


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


def resolve_dtype(name: str, device: str) -> Any:
    """``auto``: bfloat16 on GPU, float32 on CPU; otherwise the named torch dtype."""
    import torch

    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise EvalError(f"unknown dtype {name!r}: use auto, float32, bfloat16 or float16")
    return dtype


def load_model(
    model_name_or_path: str, adapter: str | None = None, dtype: str = "auto", device: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model (+ optional PEFT adapter) and tokenizer, on GPU in bf16 when there is one, else CPU fp32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if _looks_like_path(model_name_or_path) and not Path(model_name_or_path).exists():
        raise EvalError(f"model path not found: {model_name_or_path}")
    if adapter is not None and not (Path(adapter) / "adapter_config.json").exists():
        raise EvalError(
            f"adapter not found: {adapter} has no adapter_config.json "
            "(point --adapter at a checkpoint's adapter/ folder, e.g. RUN/global_step_100/adapter)"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
        model = AutoModelForCausalLM.from_pretrained(model_name_or_path, dtype=resolve_dtype(dtype, device))
    except OSError as exc:
        raise EvalError(
            f"could not load model {model_name_or_path!r}: {str(exc).splitlines()[0]}\n"
            "Give a local folder with config.json + weights, or a Hub name reachable from this machine."
        ) from exc
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    return model.to(device).eval(), tokenizer


def _looks_like_path(name: str) -> bool:
    """A Hub id is ``org/name``; anything starting like a path or with more slashes is a local folder."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1


def choose_backend(backend: str) -> str:
    """``auto`` -> vllm when importable with a GPU, else hf; ``vllm`` errors clearly when unavailable."""
    if backend == "hf":
        return "hf"
    if vllm_available():
        return "vllm"
    if backend == "vllm":
        raise EvalError(
            "--backend vllm needs vLLM and a CUDA GPU: pip install 'deepscaler-grpo[vllm]', or use --backend hf"
        )
    return "hf"


def run_eval(config: EvalConfig) -> dict[str, dict[str, float]]:
    """Load benchmarks, generate, score, write outputs; returns {benchmark: summary}.

    summary.json is rewritten after each benchmark, so a crash keeps the finished ones.
    """
    names = [parse_benchmark_spec(s)[0] for s in config.benchmarks]
    if len(set(names)) < len(names):
        raise EvalError(f"two benchmarks share a name in {names}: name them, e.g. --benchmarks a=x.json,b=y/x.json")
    benches = {name: load_benchmark(spec, config.limit) for name, spec in zip(names, config.benchmarks, strict=True)}
    backend = choose_backend(config.backend)
    generate = make_generator(config, backend)
    out_dir = Path(config.output_dir)
    meta = {k: v for k, v in asdict(config).items() if k != "progress"}
    summaries: dict[str, dict[str, float]] = {}
    for name, rows in benches.items():
        started = time.perf_counter()
        responses = generate([row["prompt"] for row in rows])
        result = score_responses(
            responses,
            [row["answer"] for row in rows],
            config.k_values,
            problems=[row["problem"] for row in rows],
        )
        write_jsonl(out_dir / f"{name}.jsonl", response_lines(result))
        summaries[name] = {**result.summary, "seconds": round(time.perf_counter() - started, 2)}
        payload = {"run": {**meta, "backend": backend}, "benchmarks": summaries}
        atomic_write_text(out_dir / "summary.json", json.dumps(payload, indent=2, default=str) + "\n")
    return summaries


def make_generator(config: EvalConfig, backend: str) -> Callable[[list[Messages]], list[list[str]]]:
    """Load the model once; returns prompts -> n responses each, for the chosen backend."""
    sampling = {"n": config.n, "temperature": config.temperature, "top_p": config.top_p,
                "max_tokens": config.max_tokens, "seed": config.seed}
    if backend == "vllm":
        llm, lora = load_vllm(config.model, config.adapter, config.max_tokens + config.max_prompt_tokens, config.seed)
        return lambda prompts: generate_vllm(llm, prompts, lora_request=lora, **sampling)
    model, tokenizer = load_model(config.model, config.adapter, config.dtype)
    return lambda prompts: generate_hf(
        model, tokenizer, prompts, batch_size=config.batch_size, progress=config.progress, **sampling
    )


def parse_k_values(text: str) -> tuple[int, ...]:
    """``"1,8,16"`` -> (1, 8, 16) for ``--k``."""
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k takes comma-separated integers like 1,8,16, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepscaler-grpo eval",
        description="pass@k evaluation: sample n responses per problem, verify them, write JSONL + summary.json.",
    )
    names = ", ".join(known_benchmarks())
    parser.add_argument("--model", required=True, help="base model: Hub name or local folder")
    parser.add_argument("--adapter", default=None, help="PEFT LoRA adapter folder (e.g. RUN/global_step_N/adapter)")
    parser.add_argument("--benchmarks", required=True,
                        help=f"comma-separated: known names ({names}), .json/.jsonl/.parquet files, or NAME=PATH")
    parser.add_argument("--n", type=int, default=1, help="samples per problem (default 1)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); DeepScaleR uses 0.6")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--max-tokens", type=int, default=1024, help="max new tokens per response")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per HF generate call")
    parser.add_argument("--k", type=parse_k_values, default=None,
                        help="pass@k values, e.g. 1,8,16 (default: powers of 2 up to n, and n)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first N problems per benchmark (quick runs)")
    parser.add_argument("--backend", choices=["auto", "vllm", "hf"], default="auto")
    parser.add_argument("--max-prompt-tokens", type=int, default=2048,
                        help="vLLM only: context length = this + --max-tokens")
    parser.add_argument("--dtype", default="auto", help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16, float16")
    parser.add_argument("--output-dir", default="eval_results", help="where <bench>.jsonl and summary.json go")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = EvalConfig(
            model=args.model,
            adapter=args.adapter,
            benchmarks=tuple(s for s in args.benchmarks.split(",") if s.strip()),
            n=args.n,
            temperature=args.temperature,
            top_p=args.top_p,
            max_tokens=args.max_tokens,
            batch_size=args.batch_size,
            seed=args.seed,
            limit=args.limit,
            output_dir=args.output_dir,
            backend=args.backend,
            k_values=args.k,
            dtype=args.dtype,
            max_prompt_tokens=args.max_prompt_tokens,
            progress=not args.no_progress,
        )
        summaries = run_eval(config)
    except EvalError as exc:
        print(f"deepscaler-grpo eval: error: {exc}", file=sys.stderr)
        return 2
    print_table(summaries, title=f"{config.model}" + (f" + {config.adapter}" if config.adapter else ""))
    print(f"wrote {Path(config.output_dir) / 'summary.json'} and one <benchmark>.jsonl per benchmark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
