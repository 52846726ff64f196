"""Merged-model export: fold a LoRA adapter into its base model and save a plain model + tokenizer.

The merge runs in float32 (so ``W + BA`` is exact before the final cast) and two checks run: on a
sample prompt the merged model's logits match base+adapter's, and the saved folder reloads to exactly
the merged weights (after the cast to ``--dtype``). The folder is written next to the target and renamed into place,
so a crash never leaves a half-written model; ``export_report.json`` records the checks.

    deepscaler-grpo export --base Qwen/Qwen3-4B-Instruct-2507 \\
        --adapter runs/x/global_step_500/adapter --output-dir models/deepscaler-qwen3-4b --dtype bfloat16
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deepscaler_grpo.errors import EXIT_OK, UserError, report_error
from deepscaler_grpo.io import follow_umask, make_temp_dir, write_json

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

SAMPLE_PROMPT = "What is 3 + 4 * 5? Put the final answer inside <answer> </answer> tags."


class ExportError(UserError):
    """A user-facing problem (missing adapter, existing output folder, failed check)."""


@dataclass(frozen=True)
class ExportConfig:
    """Options of ``deepscaler-grpo export``."""

    base: str
    adapter: str
    output_dir: str
    dtype: str = "auto"  # auto = the base model's saved dtype
    verify: bool = True
    overwrite: bool = False
    atol: float = 1e-4  # float32 merge vs base+adapter: only summation-order noise is allowed

    def __post_init__(self) -> None:
        if not (Path(self.adapter) / "adapter_config.json").exists():
            raise ExportError(
                f"adapter not found: {self.adapter} has no adapter_config.json "
                "(use a checkpoint's adapter folder, e.g. RUN/global_step_100/adapter)"
            )
        if self.dtype not in {"auto", "float32", "bfloat16", "float16"}:
            raise ExportError(f"--dtype must be auto, float32, bfloat16 or float16 (got {self.dtype!r})")
        from deepscaler_grpo.outputs import check_output_dir

        out = check_output_dir(self.output_dir, "--output-dir")  # before the (minutes of) merging
        if out.exists() and any(out.iterdir()) and not self.overwrite:
            raise ExportError(f"{out} exists and is not empty: pick another --output-dir or pass --overwrite")
        if out.resolve() in {Path(self.adapter).resolve(), Path(self.base).resolve()}:
            raise ExportError("--output-dir must differ from --base and --adapter")


@dataclass(frozen=True)
class ExportReport:
    """What was written and how close the checks came (merge: max |logit diff|; reload: max |weight diff|)."""

    output_dir: str
    base: str
    adapter: str
    dtype: str
    merge_max_diff: float | None
    reload_max_weight_diff: float | None


def sample_inputs(tokenizer: PreTrainedTokenizerBase, prompt: str = SAMPLE_PROMPT) -> dict[str, torch.Tensor]:
    """Token ids of a chat-formatted sample prompt (plain text when the tokenizer has no chat template)."""
    text = prompt
    if tokenizer.chat_template:
        messages = [{"role": "user", "content": prompt}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return dict(tokenizer(text, return_tensors="pt", add_special_tokens=False))


def logits(model: PreTrainedModel, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Float32 logits for ``inputs`` on the model's device."""
    import torch

    with torch.inference_mode():
        out = model(**{k: v.to(model.device) for k, v in inputs.items()})
    return out.logits.float().cpu()


def check_close(reference: torch.Tensor, other: torch.Tensor, atol: float, what: str) -> float:
    """Max |difference|; raises ExportError when beyond ``atol`` scaled by the logit magnitude."""
    diff = float((reference - other).abs().max())
    scale = max(1.0, float(reference.abs().max()))
    if diff > atol * scale:
        raise ExportError(f"{what}: logits differ by {diff:.3g} (allowed {atol * scale:.3g}); nothing was saved")
    return diff


def load_tokenizer(base: str, adapter: str) -> PreTrainedTokenizerBase:
    """The adapter folder's tokenizer when training saved one there, else the base model's (saved settings kept)."""
    from deepscaler_grpo.models import load_tokenizer as load

    source = adapter if (Path(adapter) / "tokenizer_config.json").exists() else base
    return load(source, padding_side=None)


def adapter_is_noop(model: PreTrainedModel) -> bool:
    """True when every LoRA B matrix is exactly zero: base + adapter == base (a run that learned nothing)."""
    found = [p for name, p in model.named_parameters() if "lora_B" in name]
    return bool(found) and all(float(p.detach().abs().max()) == 0.0 for p in found)


def merge(config: ExportConfig) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, float | None]:
    """Base + adapter in float32 -> merged model (checked against the unmerged one when ``verify``)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from deepscaler_grpo.compat import silence_upstream_deprecations
    from deepscaler_grpo.console import quiet_library_bars
    from deepscaler_grpo.models import check_adapter_fits, load_model_config, model_source

    quiet_library_bars()
    silence_upstream_deprecations()
    check_adapter_fits(config.base, config.adapter, base_what="base model")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    saved_dtype = load_model_config(config.base, what="base model").dtype  # before loading overrides it
    source, local_only = model_source(config.base, "base model")
    try:
        base = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, local_files_only=local_only).to(device)
    except OSError as exc:
        raise ExportError(f"could not load base model {config.base!r}: {str(exc).splitlines()[0]}") from exc
    tokenizer = load_tokenizer(config.base, config.adapter)
    model = PeftModel.from_pretrained(base, config.adapter).eval()
    if adapter_is_noop(model):
        print(f"warning: the adapter {config.adapter} is a no-op (every lora_B weight is 0): the merged model equals "
              "the base model. Did the run learn anything? Check its metrics.jsonl (critic/score/mean).", file=sys.stderr)
    inputs = sample_inputs(tokenizer)
    reference = logits(model, inputs) if config.verify else None
    merged = model.merge_and_unload()
    diff = None
    if reference is not None:
        diff = check_close(reference, logits(merged, inputs), config.atol, "merged vs base+adapter")
    target = saved_dtype if config.dtype == "auto" else getattr(torch, config.dtype)
    if isinstance(target, str):
        target = getattr(torch, target)
    return merged.to(target or torch.float32), tokenizer, diff


def reload_diff(saved_dir: Path, merged: PreTrainedModel) -> float:
    """Reload the saved folder and compare every tensor with the in-memory merged model (must be equal)."""
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(saved_dir, dtype=merged.dtype).state_dict()
    expected = merged.state_dict()
    if set(reloaded) != set(expected):
        missing = sorted(set(expected) ^ set(reloaded))[:5]
        raise ExportError(f"saved model does not reload with the same tensors (differing names: {missing})")
    diff = max(float((reloaded[k].cpu().float() - expected[k].cpu().float()).abs().max()) for k in expected)
    if diff != 0.0:
        raise ExportError(f"saved weights differ from the merged model by up to {diff:.3g}")
    return diff


def export_merged(config: ExportConfig) -> ExportReport:
    """Merge, check, save into a temp folder, re-check the saved weights, then move the folder into place."""
    from deepscaler_grpo.outputs import writing

    merged, tokenizer, merge_diff = merge(config)
    out = Path(config.output_dir)
    with writing(out, "--output-dir"):
        return _save_merged(config, out, merged, tokenizer, merge_diff)


def _save_merged(
    config: ExportConfig, out: Path, merged: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, merge_diff: float | None
) -> ExportReport:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, f".{out.name}.tmp-")
    try:
        merged.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        report = ExportReport(
            output_dir=str(out),
            base=config.base,
            adapter=config.adapter,
            dtype=str(merged.dtype).removeprefix("torch."),
            merge_max_diff=merge_diff,
            reload_max_weight_diff=reload_diff(tmp, merged) if config.verify else None,
        )
        write_json(tmp / "export_report.json", asdict(report))
        follow_umask(tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="deepscaler-grpo export", description="merge a LoRA adapter into its base model"
    )
    parser.add_argument("--base", required=True, help="base model: Hub name, local folder or GGUF file (the one trained on)")
    parser.add_argument("--adapter", required=True, help="PEFT adapter folder, e.g. RUN/global_step_N/adapter")
    parser.add_argument("--output-dir", required=True, help="folder for the merged model + tokenizer")
    parser.add_argument("--dtype", default="auto", help="saved dtype: auto (as the base), float32, bfloat16, float16")
    parser.add_argument("--no-verify", action="store_true", help="skip the logit checks (saves one model load)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output-dir")
    args = parser.parse_args(argv)
    try:
        config = ExportConfig(args.base, args.adapter, args.output_dir, args.dtype, not args.no_verify, args.overwrite)
        report = export_merged(config)
    except UserError as exc:
        return report_error("export", exc)
    checks = "" if report.merge_max_diff is None else (
        f"; checks passed: merged vs base+adapter max logit diff {report.merge_max_diff:.2g},"
        " saved weights reload identically"
    )
    print(f"merged model ({report.dtype}) saved to {report.output_dir}{checks}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
