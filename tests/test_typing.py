"""The package type-checks with mypy (the house style asks for full type hints, checked by mypy)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes_on_the_package():
    proc = subprocess.run([sys.executable, "-m", "mypy", "src/mgmeta"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
