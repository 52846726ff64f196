"""Output locations, checked before any work: every command calls these first, so a bad ``--output-dir`` (a file,
a read-only folder, someone else's folder) stops in milliseconds with one line naming the path and the fix, instead
of a traceback after minutes of generating, merging or scoring. Filesystem errors during writing (a full disk, a
folder removed underneath) become the same kind of message (:func:`writing`).

    from deepscaler_grpo.outputs import check_output_dir, check_output_file, writing
    out = check_output_dir(args.output_dir, "--output-dir")        # exists-as-file, writable, ...
    with writing(out, "--output-dir"):
        write_json(out / "summary.json", summary)
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from deepscaler_grpo.errors import UserError


class OutputError(UserError):
    """An output location that cannot be written; the message names the path and what to do."""


def named(what: str, path: Path | str) -> str:
    """How to show the option with its value: ``--output-dir X``, or ``trainer.default_local_dir=X`` for a config key."""
    return f"{what}={path}" if "." in what and not what.startswith("-") else f"{what} {path}"


def nearest_existing(path: Path) -> Path:
    """``path`` itself or its closest existing parent (``.`` for a relative path with no existing parent)."""
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return candidate
    return Path(".")


def check_writable_parent(path: Path, what: str) -> None:
    """The folder that would hold ``path`` (the folder itself when it exists, else its nearest existing parent) is a
    folder and writable."""
    base = nearest_existing(path if path.is_dir() else path.parent)
    if not base.is_dir():
        raise OutputError(f"{named(what, path)}: {base} is a file, not a folder; choose another path")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputError(f"{named(what, path)}: {base} is not writable (permission denied or a read-only filesystem); "
                          "choose a folder you can write to")


def check_output_dir(path: str | Path, what: str = "--output-dir") -> Path:
    """``path`` can be used (or created) as an output folder: it is not a file, and it (or its nearest existing
    parent) is writable. Whether a non-empty folder may be reused is each command's own rule."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise OutputError(f"{named(what, path)} is a file; pass a folder path (it is created if missing)")
    check_writable_parent(path, what)
    return path


def check_output_file(path: str | Path, what: str = "--output") -> Path:
    """``path`` can be written as a file: not a folder, and its folder is (or can be made) writable."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise OutputError(f"{named(what, path)} is a folder; pass a file path, e.g. {path / 'scored.jsonl'}")
    check_writable_parent(path, what)
    return path


def is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


@contextlib.contextmanager
def writing(path: str | Path, what: str = "output") -> Iterator[None]:
    """Turn a filesystem error raised while writing under ``path`` into an :class:`OutputError`."""
    try:
        yield
    except OSError as exc:
        raise os_error_message(exc, Path(path), what) from None


def is_filesystem_error(exc: OSError) -> bool:
    """A failure of the disk or the path (full, read-only, permissions, a file where a folder should be)."""
    return exc.errno in filesystem_fixes()


def filesystem_fixes() -> dict[int, str]:
    """errno -> what to do about it."""
    return {
        errno.ENOSPC: "no space left on the device; free some space or choose another disk",
        errno.EDQUOT: "the disk quota is exceeded; free some space or choose another disk",
        errno.EROFS: "the filesystem is read-only; choose a writable folder",
        errno.EACCES: "permission denied; choose a folder you can write to",
        errno.EPERM: "operation not permitted; choose a folder you can write to",
        errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
        errno.EISDIR: "it is a folder where a file was expected; choose another path",
        errno.EEXIST: "something already exists there; choose another path",
        errno.ENAMETOOLONG: "the path is too long; choose a shorter one",
    }


def os_error_message(exc: OSError, path: Path, what: str) -> OutputError:
    """One line per kind of filesystem failure, naming the path and the fix."""
    where = exc.filename or path
    fix = filesystem_fixes().get(exc.errno or -1, f"{exc.strerror or type(exc).__name__}; choose another path")
    return OutputError(f"cannot write {named(what, where)}: {fix}")
