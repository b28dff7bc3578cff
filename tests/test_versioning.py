"""Fast checks of the version source and the release configuration (issue 6).

The release itself (build, publish to a loopback index, install, synth) is proven in
``test_release.py``; these run in the inner loop and catch a broken configuration early.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import dr_constructs

ROOT = Path(__file__).resolve().parents[1]
VERSION_FILE = ROOT / "src" / "dr_constructs" / "_version.py"
# SemVer 2.0.0 (https://semver.org), without a leading "v"
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def _tasks() -> dict[str, Any]:
    tasks: dict[str, Any] = json.loads((ROOT / ".projen" / "tasks.json").read_text())["tasks"]
    return tasks


def _steps(task: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _tasks()[task].get("steps", [])
    return steps


def test_version_is_semver() -> None:
    assert SEMVER.match(dr_constructs.__version__), dr_constructs.__version__


def test_the_installed_distribution_has_the_package_version() -> None:
    installed = importlib.metadata.version("dr-constructs")
    assert installed == dr_constructs.__version__, (
        f"the installed dr-constructs is {installed} but __version__ is "
        f"{dr_constructs.__version__}: reinstall the project (`./dev install`)"
    )


def test_there_is_one_version_source() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = [ "version" ]' in pyproject
    assert not re.search(r"(?m)^version\s*=", pyproject.split("[tool.")[0])
    assert 'path = "src/dr_constructs/_version.py"' in pyproject  # [tool.hatch.version]
    assert len(re.findall(r'(?m)^__version__ = "[^"]+"$', VERSION_FILE.read_text())) == 1


def test_commit_and_tag_version_bumps_the_version_source() -> None:
    config = json.loads((ROOT / ".versionrc.json").read_text())
    target = {"filename": "src/dr_constructs/_version.py", "updater": "scripts/version-updater.cjs"}
    assert config["packageFiles"] == [target]
    assert config["bumpFiles"] == [target]
    assert config["tagPrefix"] == "v"
    assert config["header"].startswith("# Changelog\n")
    # the changelog keeps one header: new releases go above the marker
    assert '<a name="releases"></a>' in (ROOT / "CHANGELOG.md").read_text()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is needed for the updater")
def test_the_version_updater_reads_and_writes_version() -> None:
    script = (
        "const u = require(process.argv[1]);"
        "const fs = require('fs');"
        "const text = fs.readFileSync(process.argv[2], 'utf8');"
        "const bumped = u.writeVersion(text, '9.8.7-rc.1');"
        "console.log(JSON.stringify([u.readVersion(text), u.readVersion(bumped),"
        " bumped.split('\\n').length === text.split('\\n').length]));"
        "try { u.readVersion('no version here'); }"
        "catch (e) { console.log('error: ' + e.message); }"
    )
    result = subprocess.run(
        ["node", "-e", script, str(ROOT / "scripts" / "version-updater.cjs"), str(VERSION_FILE)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    first, second = result.stdout.splitlines()
    assert json.loads(first) == [dr_constructs.__version__, "9.8.7-rc.1", True]
    assert second.startswith("error: no line `__version__")


def test_release_tasks_chain_bump_package_check_and_publish() -> None:
    tasks = _tasks()
    for name in ("bump", "package", "package:check", "publish:pypi", "release", "release:publish"):
        assert name in tasks, name
    assert _steps("bump")[0]["exec"] == "node_modules/.bin/commit-and-tag-version"
    assert _steps("bump")[0]["receiveArgs"] is True
    assert [s["exec"] for s in _steps("package")] == [
        "rm -rf dist/python",
        "python -m build --outdir dist/python",
    ]
    assert _steps("package:check")[0]["exec"] == "twine check --strict dist/python/*"
    publish = _steps("publish:pypi")[0]["exec"]
    assert "node_modules/.bin/publib-pypi dist/python" in publish
    assert "sys._base_executable" in publish  # publib's `pip install --user` needs no venv
    assert "PYTHONUSERBASE=" in publish
    assert tasks["publish:pypi"]["shell"] == "system"  # ${VAR:-default} needs a POSIX shell
    assert [s["spawn"] for s in _steps("release:publish")] == [
        "package",
        "package:check",
        "publish:pypi",
    ]
    assert [s["spawn"] for s in _steps("release")] == ["bump", "release:publish"]


def test_npm_tools_are_pinned_and_locked_without_registry_urls() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for name in ("publib", "commit-and-tag-version"):
        wanted = package["devDependencies"][name]
        assert lock["packages"][""]["devDependencies"][name] == wanted
        assert lock["packages"][f"node_modules/{name}"]["version"] == wanted.lstrip("^~")
    assert package["devDependencies"]["commit-and-tag-version"].lstrip("^~").startswith("12.")
    assert '"resolved"' not in (ROOT / "package-lock.json").read_text()


def _verify_tag(tag: str) -> subprocess.CompletedProcess[str]:
    (step,) = _steps("release:verify-tag")
    return subprocess.run(
        f"{step['exec'].replace('python -c', f'{sys.executable} -c', 1)} {tag}",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_verify_tag_accepts_only_the_package_version() -> None:
    assert _verify_tag(f"v{dr_constructs.__version__}").returncode == 0
    wrong = _verify_tag("v999.0.0")
    assert wrong.returncode == 1
    assert f"does not match version v{dr_constructs.__version__}" in wrong.stderr


def test_the_release_workflow_publishes_on_a_version_tag() -> None:
    path = ROOT / ".github" / "workflows" / "release.yml"
    workflow = yaml.safe_load(path.read_text())
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    uses = {s["uses"].split("@")[0]: s.get("with", {}) for s in steps if "uses" in s}
    assert uses["actions/setup-python"]["python-version"] == "3.11"
    # node comes from PyPI into the venv (./dev), not from the runner
    assert "actions/setup-node" not in uses
    runs = [s["run"] for s in steps if "run" in s]
    # every step runs a task of this project, through ./dev as a developer would
    tasks = _tasks()
    for run in runs:
        command = run.split()
        assert command[0] == "./dev" and command[1] in tasks, run
    assert [r.split()[1] for r in runs] == ["release:verify-tag", "test", "release:publish"]
    (publish,) = [s for s in steps if s.get("run") == "./dev release:publish"]
    assert publish["env"] == {
        "TWINE_USERNAME": "__token__",
        "TWINE_PASSWORD": "${{ secrets.PYPI_API_TOKEN }}",
    }
