"""Install a Debian package for the tests' local stand-ins (PostgreSQL, Chromium) when missing."""

from __future__ import annotations

import os
import shutil
import subprocess


def apt_install(package: str, error: type[Exception]) -> None:
    """``apt-get install`` ``package`` (refreshing the package lists once if the first try
    fails); raise ``error`` when that cannot be done here (not root, no apt-get, no package)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise error(
            f"{package} is missing and cannot be installed here (need root and apt-get): "
            f"install Debian's {package!r} package"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise error(f"apt-get install {package} failed:\n{result.stderr}")
