"""Debian's Chromium for the docs site's browser test, installed like PostgreSQL is.

:func:`ensure_chromium` finds ``chromium`` (installing Debian's ``chromium`` package when it
is missing and we are root) and returns its path; playwright drives it (its own browser
download is not used). Not a pytest plugin: test modules call it from their fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


class ChromiumUnavailable(RuntimeError):
    """Chromium is missing and cannot be installed here."""


def find_chromium() -> Path | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


def ensure_chromium() -> Path:
    """Find Chromium, installing Debian's ``chromium`` package if needed (as root)."""
    chromium = find_chromium()
    if chromium is not None:
        return chromium
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ChromiumUnavailable(
            "chromium not found and it cannot be installed here (need root and apt-get): "
            "install Debian's 'chromium' package"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ChromiumUnavailable(f"apt-get install chromium failed:\n{result.stderr}")
    chromium = find_chromium()
    if chromium is None:
        raise ChromiumUnavailable("chromium was installed but is not on PATH")
    return chromium
