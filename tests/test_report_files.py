"""reports.files: an output file is replaced whole or not at all, readable as the umask says."""

from __future__ import annotations

import os
import stat

import pytest

from reports.files import replaced_on_success


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_new_file_gets_the_permissions_of_a_plain_open(tmp_path, umask_022):
    target = tmp_path / "audit.xlsx"
    with replaced_on_success(target, ".export-") as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".export-")
        temporary.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not mkstemp's 0600: colleagues may read the workbook
    assert [p.name for p in tmp_path.iterdir()] == ["audit.xlsx"]


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "audit.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), replaced_on_success(target, ".export-") as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["audit.xlsx"]
