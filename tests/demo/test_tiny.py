from __future__ import annotations

from pathlib import Path


def test_tiny_model_loads_and_round_trips_chat(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    text = tok.apply_chat_template([{"role": "user", "content": "2+2?"}], tokenize=False, add_generation_prompt=True)
    assert text == "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
    ids = tok(text + "<answer>-3/4</answer>")["input_ids"]
    assert tok.decode(ids) == text + "<answer>-3/4</answer>"
    assert model.config.model_type == "qwen3" and model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(tok)
