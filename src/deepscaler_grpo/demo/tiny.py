"""Tiny local models: a byte-level BPE tokenizer with a Qwen-style chat template and a 2-layer
Qwen3-architecture causal LM, built in seconds with no download.

Tests, benchmarks and ``deepscaler-grpo demo`` use these in place of Qwen/Qwen3-4B-Instruct-2507; the
real loading code (``AutoModelForCausalLM.from_pretrained``) reads the saved folder like any other.

    python -m deepscaler_grpo.demo.tiny /tmp/tiny-qwen3      # writes a model + tokenizer folder
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deepscaler_grpo.errors import UserError, report_error
from deepscaler_grpo.generation.vllm import CPU_HEAD_SIZES
from deepscaler_grpo.io import follow_umask
from deepscaler_grpo.outputs import check_output_dir, writing

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

# Qwen's ChatML layout, trimmed: no tools, no thinking blocks.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


# Head sizes vLLM's CPU attention kernels accept (the default 16 is not one of them).
VLLM_CPU_HEAD_DIMS = CPU_HEAD_SIZES  # the head sizes vLLM's CPU attention has kernels for


@dataclass(frozen=True)
class TinyModelConfig:
    """Shape of the tiny Qwen3 model; the defaults train a step in well under a second on CPU."""

    vocab_size: int = 1024
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 16
    max_position_embeddings: int = 4096
    seed: int = 0

    @classmethod
    def for_vllm(cls, **overrides: int) -> TinyModelConfig:
        """The same tiny model with head_dim 32, a size vLLM's CPU backend runs (tests of vLLM rollouts)."""
        return cls(**{"head_dim": VLLM_CPU_HEAD_DIMS[0], **overrides})


def default_corpus(seed: int = 0, size: int = 3000) -> Iterator[str]:
    """Math-flavoured text for training the tokenizer: numbers, LaTeX, answer tags, prose."""
    rng = random.Random(seed)
    words = (
        "Solve the problem step by step and put the final answer inside <answer> </answer> tags . "
        "What is Find Compute Let be the value of sum product difference quotient how many ways "
        "\\frac{ } \\sqrt{ } \\boxed{ } \\pi \\cdot \\times ^ _ ( ) [ ] = + - * / , . : ; x y z n k"
    ).split()
    for _ in range(size):
        a, b = rng.randint(-999, 9999), rng.randint(1, 999)
        yield f"{a} + {b} = {a + b}. \\frac{{{a}}}{{{b}}} <answer>{a - b}</answer>"
        yield " ".join(rng.choice(words) for _ in range(12))


def build_tiny_tokenizer(
    texts: Iterable[str] | None = None, vocab_size: int = 1024
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer (any string encodes) with ChatML special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts if texts is not None else default_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        chat_template=CHAT_TEMPLATE,
        padding_side="left",
        model_max_length=4096,
    )


def build_tiny_model(tokenizer: PreTrainedTokenizerFast, config: TinyModelConfig | None = None) -> PreTrainedModel:
    """A randomly initialised Qwen3ForCausalLM sized to ``tokenizer``."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = config or TinyModelConfig()
    torch.manual_seed(config.seed)
    model_config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        head_dim=config.head_dim,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    model = Qwen3ForCausalLM(model_config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def save_tiny_model(
    path: str | Path, texts: Iterable[str] | None = None, config: TinyModelConfig | None = None
) -> Path:
    """Build the tokenizer and model and save both to ``path`` (loadable with ``from_pretrained``)."""
    config = config or TinyModelConfig()
    path = Path(path)
    tokenizer = build_tiny_tokenizer(texts, vocab_size=config.vocab_size)
    model = build_tiny_model(tokenizer, config)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    return follow_umask(path)  # safetensors writes 0600 files: give them the modes an ordinary write would


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deepscaler_grpo.demo.tiny",
        description="Build a tiny Qwen3-architecture model (random weights) and a byte-level BPE tokenizer with a "
        "ChatML chat template, and save both to a folder that from_pretrained loads (no download).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("output_dir", help="folder to write the model and tokenizer into")
    parser.add_argument("--hidden-size", type=int, default=TinyModelConfig.hidden_size, help="model width")
    parser.add_argument("--layers", type=int, default=TinyModelConfig.num_hidden_layers, help="decoder layers")
    sizes = ", ".join(map(str, VLLM_CPU_HEAD_DIMS))
    parser.add_argument("--head-dim", type=int, default=TinyModelConfig.head_dim,
                        help=f"attention head size; vLLM's CPU backend needs one of {sizes}")
    args = parser.parse_args(argv)
    try:
        out = check_output_dir(args.output_dir, "output_dir")
        config = TinyModelConfig(hidden_size=args.hidden_size, num_hidden_layers=args.layers, head_dim=args.head_dim)
        with writing(out, "output_dir"):
            print(save_tiny_model(out, config=config))
    except UserError as exc:
        return report_error("tiny", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
