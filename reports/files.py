"""Writing an output file whole or not at all."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_on_success(path: Path, prefix: str) -> Iterator[Path]:
    """A new temporary file beside ``path``, moved onto it when the block ends without error.

    A reader never sees half a file, and a failure leaves whatever was at ``path`` before.
    Unlike ``tempfile.mkstemp`` (always 0600) the file gets the permissions a plain ``open``
    would give it, so the umask decides who else may read an exported workbook.
    """
    directory = path.parent if str(path.parent) else Path(".")
    while True:
        temporary = directory / f"{prefix}{secrets.token_hex(8)}{path.suffix}"
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # pragma: no cover - 64 random bits
            continue
    try:
        yield temporary
        with open(temporary, "rb") as written:  # on disk before it takes the name: a crash leaves
            os.fsync(written.fileno())            # the old file or the whole new one
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
