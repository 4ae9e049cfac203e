"""Cached bytecode for the project's modules before a benchmark starts processes, as an install has.

pip compiles a package's modules when it installs it, and Python caches what it imports; with
PYTHONDONTWRITEBYTECODE set neither happens, and every process timed would compile the project's
modules again. Compiling them once here (compileall writes the cache whatever that variable says)
makes the figures those of an installed bot on any machine.
"""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage", "handlers")


def compile_project() -> None:
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)
