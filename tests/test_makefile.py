"""The Makefile's Python probe passes over interpreters it cannot run without a word."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_a_broken_python_shim_on_path_prints_nothing(tmp_path: Path) -> None:
    shim = tmp_path / "python3.13"  # what pyenv leaves for a version it does not have
    shim.write_text('#!/bin/sh\necho "pyenv: python3.13: command not found" >&2\nexit 127\n')
    shim.chmod(0o755)
    env = os.environ | {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["make", "-s", "-B", "-n", "venv"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "command not found" not in result.stderr + result.stdout
    assert "python3.13 -m venv" not in result.stdout
