"""The demo's model: a tiny Qwen3 and BPE tokenizer built on the problem set's text, then warm-started by a
short supervised fine-tune on a *careless teacher* (right format, the classic mistake ``mistake_rate`` of the
time), so GRPO has systematic errors to unlearn. Used by :mod:`deepscaler_grpo.demo.pipeline`.

    base = build_base_model(cfg, out, tokenizer_corpus(rows, problems))
    sft_dir, loss = warm_start(cfg, base, out / "sft_model", rows, problems)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.demo.problems import DemoProblem, format_completion
from deepscaler_grpo.errors import UserError
from deepscaler_grpo.io import follow_umask

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from deepscaler_grpo.demo.pipeline import DemoConfig


def tokenizer_corpus(rows: Sequence[dict[str, Any]], problems: dict[str, DemoProblem]) -> list[str]:
    """Prompts and both teacher answers, so BPE merges the instruction and numbers into few tokens."""
    texts = []
    for row in rows:
        problem = problems.get(row["problem"])
        answers = (problem.answer, problem.mistake) if problem else (row["answer"],)
        texts.append(" ".join([m["content"] for m in row["prompt"]] + [format_completion(a) for a in answers]))
    return texts


def build_base_model(cfg: DemoConfig, out: Path, corpus: list[str]) -> Path:
    """A randomly initialised tiny Qwen3 model and its tokenizer, trained on ``corpus``, saved to out/base_model."""
    from deepscaler_grpo.demo.tiny import TinyModelConfig, save_tiny_model

    model_cfg = TinyModelConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=2 * cfg.hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=cfg.hidden_size // 4,
        max_position_embeddings=512,
        seed=cfg.seed,
    )
    return save_tiny_model(out / "base_model", texts=corpus, config=model_cfg)


def encode_examples(
    tokenizer: PreTrainedTokenizerBase, rows: Sequence[dict[str, Any]], problems: dict[str, DemoProblem]
) -> list[tuple[list[int], list[int], list[int]]]:
    """(prompt ids, right-answer ids, mistake ids) per training row, rendered as TRL renders prompts."""
    examples = []
    for row in rows:
        problem = problems.get(row["problem"])
        if problem is None:
            continue
        text = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        right, wrong = (
            tokenizer(format_completion(a) + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
            for a in (problem.answer, problem.mistake)
        )
        examples.append((prompt_ids, right, wrong))
    if not examples:
        raise UserError("no training row matched the generated problems; the prepared data looks wrong")
    return examples


def collate(batch: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-padded input ids, attention mask and labels that score only the completion tokens."""
    import torch

    width = max(len(p) + len(c) for p, c in batch)
    ids = torch.full((len(batch), width), pad_id)
    labels = torch.full((len(batch), width), -100)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, (prompt, completion) in enumerate(batch):
        seq = prompt + completion
        ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
        labels[i, len(prompt) : len(seq)] = torch.tensor(completion)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def warm_start(
    cfg: DemoConfig, base_dir: Path, out_dir: Path, rows: Sequence[dict[str, Any]], problems: dict[str, DemoProblem]
) -> tuple[Path, float]:
    """Supervised fine-tune on the careless teacher's answers (full model, AdamW); returns (folder, last loss)."""
    import random

    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM

    from deepscaler_grpo.models import load_tokenizer

    tokenizer = load_tokenizer(str(base_dir), padding_side=None)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    examples = encode_examples(tokenizer, rows, problems)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.sft_lr, weight_decay=0.0)
    warmup = max(1, cfg.sft_steps // 30)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min((s + 1) / warmup, 1.0))
    model.train()
    loss_value = float("nan")
    from deepscaler_grpo.console import interactive

    bar = tqdm(range(cfg.sft_steps), desc="warm start (SFT)", unit="step", dynamic_ncols=True, disable=not interactive())
    for _ in bar:
        picks = [examples[rng.randrange(len(examples))] for _ in range(cfg.sft_batch_size)]
        batch = [(p, wrong if rng.random() < cfg.mistake_rate else right) for p, right, wrong in picks]
        loss = model(**collate(batch, tokenizer.pad_token_id)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = loss.item()
        bar.set_postfix(loss=f"{loss_value:.3f}", refresh=False)
    model.eval()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    follow_umask(out_dir)  # safetensors writes 0600 weights
    return out_dir, loss_value

