"""deepscaler_grpo.generation.hf (and evaluate_model): HF generation on a tiny model, prompt rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepscaler_grpo.evaluation.run import evaluate_model
from deepscaler_grpo.generation import base, hf
from deepscaler_grpo.models import load_model, render_prompts


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    return load_model(str(tiny_model_dir))


PROMPTS = [
    [{"role": "user", "content": "What is 2 + 2?"}],
    [{"role": "user", "content": "Compute \\frac{3}{4} of 12, then add 5 and divide by 7."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "x = 3, y?"}],
]


@pytest.mark.slow
def test_generate_hf_shapes_and_greedy_determinism(tiny) -> None:
    model, tok = tiny
    model.train()  # generate must switch to eval and restore the caller's mode
    kwargs = {"n": 3, "temperature": 0.0, "max_tokens": 6, "progress": False}
    out = hf.generate_hf(model, tok, PROMPTS, batch_size=16, **kwargs)
    assert [len(r) for r in out] == [3, 3, 3]
    assert all(len(set(r)) == 1 for r in out)  # greedy: the n samples are the same
    assert model.training and tok.padding_side == "left"
    # batching (left padding) must not change greedy outputs
    assert hf.generate_hf(model, tok, PROMPTS, batch_size=1, **kwargs) == out
    single = hf.generate_hf(model, tok, PROMPTS[1:2], **kwargs)
    assert single == out[1:2]


@pytest.mark.slow
def test_generate_hf_sampling_is_seeded(tiny) -> None:
    import torch

    model, tok = tiny
    kwargs = {"n": 4, "temperature": 1.0, "max_tokens": 6, "progress": False, "batch_size": 8}
    rng_state = torch.get_rng_state()
    first = hf.generate_hf(model, tok, PROMPTS, seed=1, **kwargs)
    assert torch.equal(torch.get_rng_state(), rng_state)  # a trainer's random stream is left alone
    assert [len(r) for r in first] == [4, 4, 4]
    assert hf.generate_hf(model, tok, PROMPTS, seed=1, **kwargs) == first
    assert any(len(set(r)) > 1 for r in first)  # a random tiny model at T=1 does not repeat itself


@pytest.mark.slow
def test_evaluate_model_is_generate_then_score(tiny) -> None:
    model, tok = tiny
    rows = [{"problem": "p", "prompt": p, "answer": "4"} for p in PROMPTS]
    result = evaluate_model(model, tok, rows, n=2, temperature=0.0, max_tokens=5, progress=False)
    expected = hf.generate_hf(model, tok, [r["prompt"] for r in rows], n=2, temperature=0.0, max_tokens=5,
                              progress=False)
    assert [rec["responses"] for rec in result.records] == expected
    accs = [a for rec in result.records for a in rec["accs"]]
    assert result.summary["pass@1"] == pytest.approx(sum(accs) / len(accs))
    assert result.summary["num_samples"] == 6


def test_prompt_rendering(tiny) -> None:
    _, tok = tiny
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert render_prompts(tok, [messages, "raw"]) == [
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n",
        "raw",
    ]
    no_template = type("Tok", (), {"chat_template": None})()
    assert render_prompts(no_template, [messages]) == ["S\n\nU\n\n"]
    assert base.stop_token_ids(tok) == [tok.convert_tokens_to_ids("<|im_end|>")]
