"""Generated files must match what .projenrc.py generates: hand edits are caught here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _generated_files() -> list[str]:
    manifest = json.loads((ROOT / ".projen" / "files.json").read_text())
    return sorted(manifest["files"])


@pytest.mark.slow
def test_generated_files_match_projenrc(tmp_path: Path) -> None:
    files = _generated_files()
    shutil.copy2(ROOT / ".projenrc.py", tmp_path / ".projenrc.py")
    for name in (".projen/files.json", "README.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    env = {**os.environ, "PROJEN_DISABLE_POST": "true"}
    subprocess.run([sys.executable, ".projenrc.py"], cwd=tmp_path, env=env, check=True)

    drifted = [
        name for name in files if (tmp_path / name).read_bytes() != (ROOT / name).read_bytes()
    ]
    assert not drifted, (
        f"generated files differ from what .projenrc.py produces: {drifted}; "
        "edit .projenrc.py and run `./dev default` instead of editing them by hand"
    )
