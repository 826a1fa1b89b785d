"""Shared fixtures of the Python tests: fresh plugin IDs, and paths into the build tree."""

from __future__ import annotations

import itertools
import os
import pathlib
import subprocess
import sys
from typing import Callable, Iterator

import pytest

import qdp
import qdp.plugin as trtp

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "python"
_counter = itertools.count()


@pytest.fixture
def plugin_id() -> Iterator[Callable[[str], str]]:
    """Makes IDs unique to the test ("test::<name>_<n>") and forgets their plugins afterwards."""
    made: list[str] = []

    def make(name: str = "p") -> str:
        made.append(f"test::{name}_{next(_counter)}")
        return made[-1]

    yield make
    for pid in made:
        trtp._unregister(pid)


def build_bin() -> pathlib.Path | None:
    """build/bin beside the package when it runs from the build tree (PYTHONPATH=build/python)."""
    core = pathlib.Path(qdp._core.__file__).resolve()
    candidate = core.parent.parent.parent / "bin"
    return candidate if (candidate / "libqdp_sample_plugins.so").exists() else None


def run_python(code_or_args: list[str], cwd: pathlib.Path | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs the interpreter of these tests in a fresh process with the same qdp on its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(pathlib.Path(qdp.__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, *code_or_args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
