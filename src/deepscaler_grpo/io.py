"""File reading and writing shared by every stage: atomic writes (a crash never leaves half a file) that
follow the umask like any ordinary write, JSON / JSONL / parquet readers and writers.

    from deepscaler_grpo.io import atomic_write_text, write_json, write_jsonl, append_jsonl, read_jsonl
    write_json("runs/x/summary.json", {"pass@1": 0.5})
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: 0o666 minus the umask."""
    return 0o666 & ~current_umask()


def atomic_write(path: str | Path, write: Callable[[Path], None], suffix: str = ".tmp") -> Path:
    """``write(tmp)`` into a temp file beside ``path``, then give it the umask's mode and ``os.replace`` it: readers
    never see half a file, and a crash leaves only a hidden temp file that is removed (``mkstemp`` alone would
    leave a 0600 file others cannot read)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write` of ``text`` (UTF-8), fsynced before the rename."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    return atomic_write(path, write)


def make_temp_dir(parent: str | Path, prefix: str) -> Path:
    """A fresh folder beside its final place (for write-then-rename), with the mode ``mkdir`` would give."""
    path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    path.chmod(0o777 & ~current_umask())
    return path


def follow_umask(root: str | Path) -> Path:
    """Give ``root`` and everything below it the modes a plain write would (libraries such as safetensors
    write through private temp files, leaving 0600 weights another user or a server cannot read)."""
    root = Path(root)
    file_mode, dir_mode = default_file_mode(), 0o777 & ~current_umask()
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(dir_mode if path.is_dir() else file_mode)
    return root


def write_json(path: str | Path, data: Any) -> Path:
    """Atomically write indented JSON (non-JSON values such as paths become strings)."""
    return atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Atomically write JSON lines."""
    return atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows))


def append_jsonl(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one line and fsync, so a crash loses at most the line being written."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """JSON objects of a JSONL file; a torn line (a crash mid-write) or a non-object line is skipped, not fatal.

    A missing file reads as no rows.
    """
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def read_parquet_rows(path: str | Path, columns: Iterable[str] | None = None, limit: int = -1) -> list[dict[str, Any]]:
    """Rows of a parquet file as dicts (the first ``limit`` when > 0); only ``columns`` when given."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=list(columns) if columns is not None else None)
    if limit > 0:
        table = table.slice(0, limit)
    return table.to_pylist()
