"""Build the health check's Lambda bundle from the current Python environment.

Standard library only (no aws_cdk import), so the bundle can be built and tested without
starting jsii. :mod:`dr_constructs.health_check` wires it into CDK as local bundling.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Final

__all__ = [
    "BUNDLED_ROOTS",
    "HANDLER_FILES",
    "RUNTIME_DIR",
    "BundlingError",
    "bundle_health_check",
    "runtime_distributions",
]

RUNTIME_DIR: Final = Path(__file__).resolve().parent / "runtime"
"""The directory holding the Lambda's source (``handler.py``)."""


class BundlingError(RuntimeError):
    """The health check's asset could not be built from the current environment."""


BUNDLED_ROOTS: Final = ("pg8000",)
"""Distributions the handler imports (boto3 comes with the Lambda runtime)."""

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def runtime_distributions(roots: Sequence[str] = BUNDLED_ROOTS) -> tuple[str, ...]:
    """``roots`` and everything they require, as installed here (pure-Python wheels).

    Read from the installed metadata, so a new release of pg8000 or of one of its
    dependencies (python-dateutil 4 needs tzdata, not six) is bundled as it is installed.
    Requirements behind an ``extra`` are skipped; one behind another environment marker is
    bundled when it is installed here.
    """
    seen: dict[str, str] = {}
    pending = list(roots)
    while pending:
        name = pending.pop(0)
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        dist = _distribution(name)
        seen[key] = dist.metadata["Name"]
        for requirement in dist.requires or ():
            requirement_name, _, marker = requirement.partition(";")
            if "extra" in marker:
                continue
            match = _NAME.match(requirement_name)
            if match is None:
                continue
            if marker.strip() and not _installed(match.group(1)):
                continue
            pending.append(match.group(1))
    return tuple(sorted(seen.values(), key=str.lower))


def _distribution(name: str) -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise BundlingError(
            f"the health-check asset needs the distribution {name!r}, which is not "
            "installed in this Python environment (it is a dependency of dr-constructs)"
        ) from None


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


HANDLER_FILES: Final = ("handler.py",)

# dist-info files kept: METADATA (so importlib.metadata works in the function) and licences.
# RECORD, INSTALLER, REQUESTED, direct_url.json, WHEEL... vary by installer or machine.
_KEPT_METADATA: Final = frozenset({"METADATA"})
_LICENSE_PREFIXES: Final = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")


def bundle_health_check(
    output_dir: str | os.PathLike[str],
    *,
    source_dir: str | os.PathLike[str] = RUNTIME_DIR,
    distributions: Sequence[str] | None = None,
) -> list[str]:
    """Copy the handler and the distributions' importable files into ``output_dir``.

    Only source and data files are copied (no ``__pycache__``/``.pyc``, no installer
    bookkeeping), each with mode 0644, so the output, and hence the asset hash, depends only
    on the handler and the installed distributions' versions.

    Returns:
        The relative POSIX paths written, sorted.

    Raises:
        BundlingError: a distribution is not installed or lists no files.
    """
    if distributions is None:
        distributions = runtime_distributions()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan: dict[str, Path] = {}
    source = Path(source_dir)
    for name in HANDLER_FILES:
        plan[name] = source / name
    for dist_name in distributions:
        for relative, absolute in _distribution_files(dist_name):
            plan.setdefault(relative, absolute)
    for relative in sorted(plan):
        target = out.joinpath(*PurePosixPath(relative).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plan[relative], target)
        target.chmod(0o644)
    return sorted(plan)


def _distribution_files(dist_name: str) -> Iterable[tuple[str, Path]]:
    files = _distribution(dist_name).files
    if not files:
        raise BundlingError(f"distribution {dist_name!r} lists no files (no RECORD?)")
    found = False
    for entry in files:
        relative = PurePosixPath(str(entry).replace(os.sep, "/"))
        if not _is_shipped(relative):
            continue
        absolute = Path(str(entry.locate()))
        if not absolute.is_file():
            continue
        found = True
        yield str(relative), absolute
    if not found:
        raise BundlingError(f"distribution {dist_name!r} has no importable files to bundle")


def _is_shipped(path: PurePosixPath) -> bool:
    parts = path.parts
    if not parts or parts[0] in ("..", "/") or path.is_absolute():
        return False  # scripts and data installed outside site-packages
    if "__pycache__" in parts or path.suffix in (".pyc", ".pyo"):
        return False
    if parts[0].endswith(".dist-info"):
        if len(parts) == 2 and parts[1] in _KEPT_METADATA:
            return True
        return any(part.upper().startswith(_LICENSE_PREFIXES) for part in parts[1:]) or (
            len(parts) > 2 and parts[1] == "licenses"
        )
    return not parts[0].endswith((".egg-info", ".data"))
