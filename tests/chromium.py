"""Debian's Chromium for the docs site's browser test, installed like PostgreSQL is.

:func:`ensure_chromium` finds ``chromium`` (installing Debian's ``chromium`` package when it
is missing and we are root) and returns its path; playwright drives it (its own browser
download is not used). Not a pytest plugin: test modules call it from their fixtures.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .debian import apt_install


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
    apt_install("chromium", ChromiumUnavailable)
    chromium = find_chromium()
    if chromium is None:
        raise ChromiumUnavailable("chromium was installed but is not on PATH")
    return chromium
