"""Export: merge a freshly made random LoRA adapter into the tiny model and check outputs are unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepscaler_grpo.tools import export


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter with random (non-zero) B, so it really changes the model's outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    path = tmp_path_factory.mktemp("adapter")
    get_peft_model(base, config).save_pretrained(path)
    return path


def model_logits(model, tokenizer):
    return export.logits(model.eval(), export.sample_inputs(tokenizer))


@pytest.mark.slow
def test_export_warns_when_the_adapter_is_a_noop(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    """A run that learned nothing leaves every lora_B at 0 (PEFT's init): exporting it must say so."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    noop = tmp_path / "noop"
    get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir), LoraConfig(r=4, target_modules=["q_proj"])
                   ).save_pretrained(noop)
    assert export.main(["--base", str(tiny_model_dir), "--adapter", str(noop), "--output-dir", str(tmp_path / "m")]) == 0
    assert "is a no-op (every lora_B weight is 0)" in capsys.readouterr().err


@pytest.mark.slow
def test_export_round_trip_equals_base_plus_adapter(
    tiny_model_dir: Path, adapter_dir: Path, tmp_path: Path, capsys
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "merged"
    assert export.main(["--base", str(tiny_model_dir), "--adapter", str(adapter_dir), "--output-dir", str(out)]) == 0
    assert "no-op" not in capsys.readouterr().err
    tok = AutoTokenizer.from_pretrained(out)
    merged = AutoModelForCausalLM.from_pretrained(out)
    assert not any("lora" in name for name in merged.state_dict())
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    base_logits = model_logits(base, tok)
    with_adapter = model_logits(PeftModel.from_pretrained(base, adapter_dir), tok)
    merged_logits = model_logits(merged, tok)
    assert (with_adapter - base_logits).abs().max() > 1e-2  # the adapter matters...
    assert (merged_logits - with_adapter).abs().max() < 1e-4  # ...and the merged model reproduces it
    report = json.loads((out / "export_report.json").read_text())
    assert report["dtype"] == "float32" and report["merge_max_diff"] < 1e-4 and report["reload_max_weight_diff"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]  # no temp folder left behind


@pytest.mark.slow
def test_export_bfloat16_and_overwrite(tiny_model_dir: Path, adapter_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "merged"
    out.mkdir()
    (out / "old.txt").write_text("x")
    config = export.ExportConfig(str(tiny_model_dir), str(adapter_dir), str(out), dtype="bfloat16", overwrite=True)
    report = export.export_merged(config)
    assert report.dtype == "bfloat16" and report.reload_max_weight_diff == 0.0
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    assert not (out / "old.txt").exists() and (out / "tokenizer.json").exists()


@pytest.mark.slow
def test_eval_with_adapter_matches_merged_model(tiny_model_dir: Path, adapter_dir: Path, tmp_path: Path) -> None:
    from deepscaler_grpo.generation import generate_hf
    from deepscaler_grpo.models import load_model

    merged_dir = tmp_path / "merged"
    export.export_merged(export.ExportConfig(str(tiny_model_dir), str(adapter_dir), str(merged_dir)))
    prompts = [[{"role": "user", "content": "What is 7 * 6?"}], [{"role": "user", "content": "1 + 1 = ?"}]]
    kwargs = {"n": 1, "temperature": 0.0, "max_tokens": 8, "progress": False}
    via_adapter = generate_hf(*load_model(str(tiny_model_dir), str(adapter_dir)), prompts, **kwargs)
    via_merged = generate_hf(*load_model(str(merged_dir)), prompts, **kwargs)
    base_only = generate_hf(*load_model(str(tiny_model_dir)), prompts, **kwargs)
    assert via_adapter == via_merged and via_adapter != base_only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--adapter", "/no/such/adapter"], "adapter not found"),
        (["--output-dir", "{existing}"], "exists and is not empty"),
        (["--dtype", "int8"], "--dtype must be"),
        (["--base", "/no/such/base"], "base model folder /no/such/base does not exist"),
    ],
)
def test_export_errors(
    args: list[str], message: str, tiny_model_dir: Path, adapter_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "f").write_text("keep")
    argv = ["--base", str(tiny_model_dir), "--adapter", str(adapter_dir), "--output-dir", str(tmp_path / "new")]
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in argv:
            argv[argv.index(flag) + 1] = value.format(existing=existing)
        else:
            argv += [flag, value]
    assert export.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert (existing / "f").read_text() == "keep" and not (tmp_path / "new").exists()
