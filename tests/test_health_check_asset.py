"""The health check's Lambda asset: what the local (Docker-free) bundling puts in it.

Fast tests build the bundle directly with ``bundling.py`` (loaded from its file: standard
library only, no jsii); the slow test synthesizes a real CDK app in a subprocess whose
``CDK_DOCKER`` is a trap, and checks the asset directory in ``cdk.out``.
"""

from __future__ import annotations

import filecmp
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _package_dir() -> Path:
    spec = importlib.util.find_spec("dr_constructs")  # finds the package without importing it
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0])


HEALTH_CHECK_DIR = _package_dir() / "health_check"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bundling = _load("dr_health_check_bundling", HEALTH_CHECK_DIR / "bundling.py")

EXPECTED_MODULES = (
    "handler.py",
    "pg8000/__init__.py",
    "pg8000/native.py",
    "scramp/__init__.py",
    "asn1crypto/__init__.py",
    "dateutil/__init__.py",
    "dateutil/zoneinfo/dateutil-zoneinfo.tar.gz",
    "six.py",
)

# Imports the bundle with no site-packages (-I: isolated, -S: no site), then runs the
# handler with no configuration: it must report, not raise, even without boto3.
ISOLATED_IMPORT = textwrap.dedent(
    """
    import importlib.metadata, json, sys
    asset = sys.argv[1]
    sys.path.insert(0, asset)
    assert not any("site-packages" in p for p in sys.path), sys.path
    import handler, pg8000, pg8000.native, scramp, asn1crypto.x509, dateutil.parser, six
    for module in (handler, pg8000, scramp, asn1crypto, dateutil, six):
        assert module.__file__.startswith(asset), module.__file__
    try:
        import boto3
    except ImportError:
        pass
    else:
        raise SystemExit("boto3 is importable: the interpreter is not isolated")
    print(json.dumps({
        "pg8000": importlib.metadata.version("pg8000"),
        "report": handler.handler({}, None),
    }))
    """
)


def import_in_isolation(asset_dir: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", ISOLATED_IMPORT, str(asset_dir)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def relative_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("bundle")
    written = bundling.bundle_health_check(out)
    return out, written


def test_bundle_holds_the_handler_and_its_pure_python_dependencies(
    bundle: tuple[Path, list[str]],
) -> None:
    out, written = bundle
    files = relative_files(out)
    assert files == written
    for expected in EXPECTED_MODULES:
        assert expected in files, expected
    assert (out / "handler.py").read_bytes() == (
        HEALTH_CHECK_DIR / "runtime" / "handler.py"
    ).read_bytes()
    # only the handler from runtime/, and boto3 comes from the Lambda runtime
    top_level = {name.split("/", 1)[0] for name in files}
    assert "__init__.py" not in top_level
    assert not {"boto3", "botocore", "dr_constructs"} & top_level


def test_bundle_is_free_of_installer_noise(bundle: tuple[Path, list[str]]) -> None:
    out, files = bundle
    for name in files:
        path = Path(name)
        assert "__pycache__" not in path.parts, name
        assert path.suffix not in (".pyc", ".pyo"), name
        assert path.name not in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"), name
        assert (out / name).stat().st_mode & 0o777 == 0o644, name
    metadata = sorted(name for name in files if name.endswith(".dist-info/METADATA"))
    assert len(metadata) == len(bundling.runtime_distributions())


def test_bundled_distributions_follow_the_installed_requirements() -> None:
    names = {re.sub(r"[-_.]+", "-", n).lower() for n in bundling.runtime_distributions()}
    assert {"pg8000", "scramp", "asn1crypto", "python-dateutil"} <= names
    assert not {"boto3", "botocore", "aws-cdk-lib"} & names
    for name in names:  # every unconditional requirement of a bundled distribution is bundled
        for requirement in importlib.metadata.requires(name) or []:
            if ";" not in requirement:
                required = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)  # type: ignore[union-attr]
                assert re.sub(r"[-_.]+", "-", required).lower() in names, (name, requirement)


def test_bundle_is_deterministic(bundle: tuple[Path, list[str]], tmp_path: Path) -> None:
    out, files = bundle
    again = bundling.bundle_health_check(tmp_path)
    assert again == files
    match, mismatch, errors = filecmp.cmpfiles(out, tmp_path, files, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert len(match) == len(files)


def test_bundle_is_self_contained(bundle: tuple[Path, list[str]]) -> None:
    out, _ = bundle
    result = import_in_isolation(out)
    assert result["pg8000"] == importlib.metadata.version("pg8000")
    report = result["report"]
    assert report["status"] == "failed"
    assert report["checks"]["secret"]["error"] == "HealthCheckError: DB_SECRET_ARN is not set"


def test_a_missing_distribution_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(bundling.BundlingError, match=r"'no-such-dist-xyz'.*not installed"):
        bundling.bundle_health_check(tmp_path, distributions=["no-such-dist-xyz"])


# --- a real synthesis --------------------------------------------------------------------

SYNTH_APP = textwrap.dedent(
    """
    import sys
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_
    from dr_constructs.health_check import HANDLER, RUNTIME, health_check_code

    app = cdk.App(outdir=sys.argv[1], analytics_reporting=False)
    stack = cdk.Stack(app, "HealthCheckAsset")
    lambda_.Function(stack, "Fn", code=health_check_code(), handler=HANDLER, runtime=RUNTIME)
    app.synth()
    """
)


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Synthesize once, in a subprocess whose Docker is a trap that records any call."""
    work = tmp_path_factory.mktemp("synth")
    trap_log = work / "docker-called.log"
    trap = work / "docker"
    trap.write_text(f'#!/bin/sh\necho "$@" >> "{trap_log}"\nexit 1\n')
    trap.chmod(0o755)
    outdir = work / "cdk.out"
    env = {
        **os.environ,
        "CDK_DOCKER": str(trap),
        "JSII_RUNTIME_PACKAGE_CACHE": "enabled",
    }
    result = subprocess.run(
        [sys.executable, "-c", SYNTH_APP, str(outdir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    template = json.loads((outdir / "HealthCheckAsset.template.json").read_text())
    (function,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    yield {
        "asset_dir": outdir / f"asset.{asset_hash}",
        "function": function["Properties"],
        "trap_log": trap_log,
        "stderr": result.stderr,
    }


@pytest.mark.slow
def test_synthesized_asset_is_bundled_locally_without_docker(
    synthesized: dict[str, Any], bundle: tuple[Path, list[str]]
) -> None:
    assert not synthesized["trap_log"].exists(), synthesized["trap_log"].read_text()
    asset_dir: Path = synthesized["asset_dir"]
    assert (asset_dir / "handler.py").is_file()
    assert (asset_dir / "pg8000" / "__init__.py").is_file()
    # the asset is exactly the bundle
    _, files = bundle
    assert relative_files(asset_dir) == files
    function = synthesized["function"]
    assert function["Handler"] == "handler.handler"
    assert function["Runtime"] == "python3.14"


@pytest.mark.slow
def test_synthesized_asset_imports_in_isolation(synthesized: dict[str, Any]) -> None:
    result = import_in_isolation(synthesized["asset_dir"])
    assert result["report"]["status"] == "failed"
