"""deepscaler_grpo.outputs: output locations refused before any work, filesystem errors as one line with the fix."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from deepscaler_grpo.outputs import OutputError, check_output_dir, check_output_file, writing


def test_output_dir_checks(tmp_path: Path) -> None:
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"  # created later, parent writable
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(OutputError, match=f"--output-dir {file} is a file; pass a folder path"):
        check_output_dir(file)
    with pytest.raises(OutputError, match=f"{file} is a file, not a folder"):
        check_output_dir(file / "sub")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere: permission bits do not stop it")
def test_read_only_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="is not writable"):
            check_output_dir(locked / "out")
    finally:
        locked.chmod(0o700)


def test_output_file_checks(tmp_path: Path) -> None:
    assert check_output_file(tmp_path / "a" / "scored.jsonl") == tmp_path / "a" / "scored.jsonl"
    existing = tmp_path / "old.jsonl"
    existing.write_text("{}\n")
    assert check_output_file(existing) == existing  # an earlier output is replaced
    with pytest.raises(OutputError, match=f"--output {tmp_path} is a folder; pass a file path"):
        check_output_file(tmp_path)


@pytest.mark.parametrize(("code", "fix"), [(errno.ENOSPC, "no space left on the device"), (errno.EROFS, "read-only"),
                                           (errno.EACCES, "permission denied"), (errno.ENOTDIR, "is a file, not a folder")])
def test_filesystem_errors_become_one_line(tmp_path: Path, code: int, fix: str) -> None:
    with pytest.raises(OutputError) as info, writing(tmp_path, "--output-dir"):
        raise OSError(code, os.strerror(code), str(tmp_path / "x.json"))
    assert str(info.value) == f"cannot write --output-dir {tmp_path / 'x.json'}: " + str(info.value).split(": ", 1)[1]
    assert fix in str(info.value) and "\n" not in str(info.value)
