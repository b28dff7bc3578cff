"""The release path, end to end, on a real package index on loopback (issue 6).

One module-scoped fixture does the expensive work once, through the project's own tasks
(``.projen/tasks.json``, run by the projen CLI, as ``./dev <task>`` would):

1. copy the files git would commit (``git ls-files``: tracked, or new and not ignored) into
   a temporary directory, so no cache or build output can end up in a distribution, and run
   ``package`` there (sdist and wheel into ``dist/python``);
2. start ``pypiserver`` on 127.0.0.1 (a free port) with upload authentication (an htpasswd
   file) and no fallback to any other index;
3. run ``publish:pypi`` (publib's ``publib-pypi``) with ``TWINE_REPOSITORY_URL`` pointing at it;
4. start, in the background, ``pip install dr-constructs==<version>`` into a brand-new venv,
   with the loopback index added to pip's configured one (dependencies come from there);
   the consumer tests wait for it while the other tests run.

The consumer app then synthesizes in that venv, exactly as a user's CDK app would.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent  # the project's .venv/bin: projen, pypi-server, ...
MODULE = "dr_constructs"
DIST = "dr-constructs"
USER, PASSWORD = "releaser", "correct horse battery staple"
VERSION_RE = re.compile(r'^__version__ = "([^"]+)"$', re.M)

# A user's CDK app. It prints one JSON line that the tests read (and the report quotes).
CONSUMER_APP = """\
import importlib.metadata
import json
from collections import Counter
from pathlib import Path

import aws_cdk as cdk

import dr_constructs
from dr_constructs import DrPlatform

app = cdk.App(outdir="cdk.out")
stack = cdk.Stack(
    app, "ConsumerStack", env=cdk.Environment(account="123456789012", region="us-east-1")
)
platform = DrPlatform(stack, "Dr")
app.synth()

manifest = json.loads(Path("cdk.out/manifest.json").read_text())
template_file = Path("cdk.out/ConsumerStack.template.json")
resources = json.loads(template_file.read_text())["Resources"]
types = Counter(resource["Type"] for resource in resources.values())
print(json.dumps({
    "dr_constructs.__version__": dr_constructs.__version__,
    "installed distribution": importlib.metadata.version("dr-constructs"),
    "imported from": dr_constructs.__file__,
    "stacks": sorted(
        name for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"
    ),
    "template": str(template_file.resolve()),
    "resources": len(resources),
    "resource types": dict(sorted(types.items())),
}))
"""


@dataclass
class Release:
    """What the fixture built, published and started."""

    repo: Path  # the clean copy the distributions were built from
    version: str
    wheel: Path
    sdist: Path
    index_url: str  # the loopback pypiserver's root (uploads) ...
    packages: Path  # ... and the directory it serves
    publish: subprocess.CompletedProcess[str]
    install: subprocess.Popen[str]  # pip install into the fresh venv, running
    venv: Path
    report: Path
    timings: dict[str, float] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _env(**extra: str) -> dict[str, str]:
    """The environment ./dev gives a task, without any credentials of the caller."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWINE_", "PYPI_", "PUBLIB_")) and k not in ("PYTHONPATH",)
    }
    env.update(
        PATH=os.pathsep.join([str(VENV_BIN), str(ROOT / "node_modules" / ".bin"), env["PATH"]]),
        VIRTUAL_ENV=str(VENV_BIN.parent),
        PROJEN_DISABLE_POST="true",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        NO_COLOR="1",
        COLUMNS="200",
    )
    env.update(extra)
    return env


def _task(
    repo: Path, task: str, *args: str, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a projen task of the copy, as ``./dev <task>`` does (minus the bootstrap)."""
    return subprocess.run(
        [str(VENV_BIN / "projen"), task, *args],
        cwd=repo,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"{result.stdout}\n{result.stderr}"


def _flat(result: subprocess.CompletedProcess[str]) -> str:
    """The output with runs of whitespace collapsed (twine's log wraps long lines)."""
    return " ".join(_output(result).split())


def _copy_clean_tree(dest: Path) -> None:
    """Copy what git would commit: tracked files plus new ones not ignored (no caches,
    build output, venvs...). In CI's fresh clone that is exactly the commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():  # deleted in the work tree, or a submodule
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / name)
    # the node tools (publib, commit-and-tag-version) as installed by ./dev
    (dest / "node_modules").symlink_to(ROOT / "node_modules")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"pypiserver exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"pypiserver did not answer on {url} within 30 s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    timings: dict[str, float] = {}
    base = tmp_path_factory.mktemp("release")
    repo = base / "repo"
    repo.mkdir()
    _copy_clean_tree(repo)
    version_match = VERSION_RE.search((repo / "src" / MODULE / "_version.py").read_text())
    assert version_match, "no __version__ in the package"
    version = version_match[1]

    started = time.monotonic()
    built = _task(repo, "package")
    timings["package"] = time.monotonic() - started
    assert built.returncode == 0, _output(built)
    wheel = repo / "dist" / "python" / f"{MODULE}-{version}-py3-none-any.whl"
    sdist = repo / "dist" / "python" / f"{MODULE}-{version}.tar.gz"
    assert sorted(p.name for p in (repo / "dist" / "python").iterdir()) == sorted(
        [wheel.name, sdist.name]
    )

    # the index: uploads need a user from the htpasswd file; downloads are open
    from passlib.apache import HtpasswdFile

    htpasswd = HtpasswdFile(str(base / "htpasswd"), new=True)
    htpasswd.set_password(USER, PASSWORD)
    htpasswd.save()
    packages = base / "packages"
    packages.mkdir()
    port = _free_port()
    index_url = f"http://127.0.0.1:{port}/"
    server_log = base / "pypiserver.log"
    with server_log.open("wb") as log:
        server = subprocess.Popen(
            [
                str(VENV_BIN / "pypi-server"),
                "run",
                "--host", "127.0.0.1",
                "--port", str(port),
                "--authenticate", "update",
                "--passwords", str(base / "htpasswd"),
                "--disable-fallback",  # never redirect to another index
                str(packages),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    install: subprocess.Popen[str] | None = None
    try:
        _wait_until_up(index_url, server, server_log)

        started = time.monotonic()
        publish = _task(
            repo,
            "publish:pypi",
            TWINE_USERNAME=USER,
            TWINE_PASSWORD=PASSWORD,
            TWINE_REPOSITORY_URL=index_url,
        )
        timings["publish:pypi"] = time.monotonic() - started
        assert publish.returncode == 0, _output(publish)

        # a brand-new venv; pip's configured index stays, the loopback one is added
        started = time.monotonic()
        venv = base / "consumer-venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        report = base / "pip-report.json"
        pip_env = {
            k: v for k, v in _env().items() if k not in ("VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")
        }
        install = subprocess.Popen(
            [
                str(venv / "bin" / "python"), "-m", "pip", "install", "--no-input",
                "--extra-index-url", f"{index_url}simple/",
                "--report", str(report),
                f"{DIST}=={version}",
            ],
            env=pip_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        timings["install started after"] = time.monotonic() - started
        yield Release(
            repo=repo,
            version=version,
            wheel=wheel,
            sdist=sdist,
            index_url=index_url,
            packages=packages,
            publish=publish,
            install=install,
            venv=venv,
            report=report,
            timings=timings,
        )
    finally:
        if install is not None:
            _stop(install)
        _stop(server)


@dataclass
class Consumer:
    report: dict[str, object]  # pip install --report of the fresh venv
    synth: dict[str, object]  # what the consumer app printed
    app_dir: Path


@pytest.fixture(scope="module")
def pip_report(release: Release) -> dict[str, object]:
    """Wait for the fresh venv's ``pip install`` (started by the release fixture)."""
    started = time.monotonic()
    output, _ = release.install.communicate(timeout=900)
    release.timings["pip install (waited for)"] = time.monotonic() - started
    assert release.install.returncode == 0, output
    report: dict[str, object] = json.loads(release.report.read_text())
    return report


@pytest.fixture(scope="module")
def consumer(release: Release, pip_report: dict[str, object]) -> Consumer:
    """Synthesize the consumer app with the fresh venv's python, as a user would."""
    app_dir = release.venv.parent / "consumer-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(CONSUMER_APP)
    env = {
        k: v
        for k, v in _env().items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH") and not k.startswith("CDK_")
    }
    started = time.monotonic()
    synth = subprocess.run(
        [str(release.venv / "bin" / "python"), "app.py"],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    release.timings["consumer synth"] = time.monotonic() - started
    print(f"\nrelease timings (s): { {k: round(v, 1) for k, v in release.timings.items()} }")
    assert synth.returncode == 0, _output(synth)
    print(f"consumer app synth output: {synth.stdout.strip()}")
    return Consumer(
        report=pip_report,
        synth=json.loads(synth.stdout.strip().splitlines()[-1]),
        app_dir=app_dir,
    )


def _wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def _wheel_contents(wheel: Path) -> dict[str, str]:
    """File name -> sha256 of the content; RECORD compared as a sorted set of lines."""
    with zipfile.ZipFile(wheel) as archive:
        contents = {}
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith(".dist-info/RECORD"):
                data = "\n".join(sorted(data.decode().splitlines())).encode()
            contents[name] = hashlib.sha256(data).hexdigest()
        return contents


# --- publishing -------------------------------------------------------------------------


def test_publib_uploaded_the_wheel_and_the_sdist(release: Release) -> None:
    uploaded = {p.name: _sha256(p) for p in release.packages.iterdir()}
    assert uploaded == {
        release.wheel.name: _sha256(release.wheel),
        release.sdist.name: _sha256(release.sdist),
    }
    out = _flat(release.publish)
    assert f"Uploading distributions to {release.index_url}" in out
    for dist in (release.wheel, release.sdist):
        assert f"Uploading {dist.name}" in out
    # and the index serves them to anyone
    with urllib.request.urlopen(f"{release.index_url}simple/{DIST}/", timeout=10) as response:
        page = response.read().decode()
    assert release.wheel.name in page and release.sdist.name in page


def test_twine_check_strict_passes(release: Release) -> None:
    result = _task(release.repo, "package:check")
    assert result.returncode == 0, _output(result)
    assert _flat(result).count("PASSED") == 2


def test_republishing_the_same_version_is_skipped_without_harm(release: Release) -> None:
    before = {p.name: (_sha256(p), p.stat().st_mtime_ns) for p in release.packages.iterdir()}
    again = _task(
        release.repo,
        "publish:pypi",
        TWINE_USERNAME=USER,
        TWINE_PASSWORD=PASSWORD,
        TWINE_REPOSITORY_URL=release.index_url,
    )
    assert again.returncode == 0, _output(again)
    for dist in (release.wheel, release.sdist):
        assert f"Skipping {dist.name} because it appears to already exist" in _flat(again)
    after = {p.name: (_sha256(p), p.stat().st_mtime_ns) for p in release.packages.iterdir()}
    assert after == before


def test_wrong_credentials_fail_with_a_clear_message(release: Release) -> None:
    before = sorted(p.name for p in release.packages.iterdir())
    wrong = _task(
        release.repo,
        "publish:pypi",
        TWINE_USERNAME=USER,
        TWINE_PASSWORD="not-the-password",
        TWINE_REPOSITORY_URL=release.index_url,
    )
    assert wrong.returncode != 0
    out = _flat(wrong)
    assert f"HTTPError: 403 Forbidden from {release.index_url}" in out, out
    assert "check TWINE_USERNAME/TWINE_PASSWORD" in out, out  # the task's own hint
    assert sorted(p.name for p in release.packages.iterdir()) == before


def test_missing_credentials_stop_before_anything_is_installed(release: Release) -> None:
    missing = _task(
        release.repo, "publish:pypi", TWINE_USERNAME=USER, TWINE_REPOSITORY_URL=release.index_url
    )
    assert missing.returncode != 0
    assert "Missing TWINE_PASSWORD" in _flat(missing)


# --- what was published -----------------------------------------------------------------


def test_the_sdist_builds_a_wheel_identical_in_content(release: Release, tmp_path: Path) -> None:
    published = tmp_path / "published.whl"
    with urllib.request.urlopen(f"{release.index_url}packages/{release.wheel.name}") as resp:
        published.write_bytes(resp.read())
    with tarfile.open(release.sdist) as archive:
        archive.extractall(tmp_path / "sdist", filter="data")
    (source,) = (tmp_path / "sdist").iterdir()
    rebuilt = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "out"), str(source)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rebuilt.returncode == 0, _output(rebuilt)
    (wheel,) = (tmp_path / "out").glob("*.whl")
    assert wheel.name == release.wheel.name
    assert _wheel_contents(wheel) == _wheel_contents(published)


def test_the_wheel_contains_exactly_the_package(release: Release) -> None:
    package_files = {
        f"{MODULE}/{p.relative_to(release.repo / 'src' / MODULE).as_posix()}"
        for p in (release.repo / "src" / MODULE).rglob("*")
        if p.is_file()
    }
    dist_info = f"{MODULE}-{release.version}.dist-info"
    with zipfile.ZipFile(release.wheel) as archive:
        names = set(archive.namelist())
    assert names == package_files | {
        f"{dist_info}/METADATA",
        f"{dist_info}/WHEEL",
        f"{dist_info}/RECORD",
        f"{dist_info}/entry_points.txt",  # the dr-constructs console script
        f"{dist_info}/licenses/LICENSE",
    }
    assert f"{MODULE}/py.typed" in names
    assert not [n for n in names if re.search(r"(^|/)(tests?|examples|__pycache__)/|\.py[co]$", n)]


def test_the_sdist_contains_the_package_and_its_documents_only(release: Release) -> None:
    prefix = f"{MODULE}-{release.version}/"
    with tarfile.open(release.sdist) as archive:
        names = {m.name.removeprefix(prefix) for m in archive.getmembers() if m.isfile()}
    top_level = {n for n in names if not n.startswith(f"src/{MODULE}/")}
    assert top_level == {
        "PKG-INFO",
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        ".gitignore",
    }
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]


def test_the_metadata_describes_the_package(release: Release) -> None:
    pyproject = tomllib.loads((release.repo / "pyproject.toml").read_text())["project"]
    meta = _wheel_metadata(release.wheel)
    assert meta["Metadata-Version"] == "2.4"  # the twine that publib installs reads <= 2.4
    assert meta["Name"] == DIST
    assert meta["Version"] == release.version
    assert meta["Summary"] == pyproject["description"]
    # dependency ranges: the same as pyproject.toml, each with a floor and a ceiling
    declared = {str(Requirement(r)) for r in meta.get_all("Requires-Dist", [])}
    extras = {
        str(Requirement(f'{r}; extra == "{extra}"'))
        for extra, requirements in pyproject["optional-dependencies"].items()
        for r in requirements
    }
    assert declared == {str(Requirement(r)) for r in pyproject["dependencies"]} | extras
    assert sorted(meta.get_all("Provides-Extra")) == ["cli", "compliance"]
    for requirement in map(Requirement, meta.get_all("Requires-Dist", [])):
        operators = {spec.operator for spec in requirement.specifier}
        assert {">=", "<"} <= operators, f"{requirement} needs a floor and a ceiling"
    assert {r.name for r in map(Requirement, declared)} >= {"aws-cdk-lib", "constructs", "cdk-nag"}
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL", []))
    assert urls == pyproject["urls"]
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(urls)
    assert sorted(meta.get_all("Classifier", [])) == sorted(pyproject["classifiers"])
    assert "Programming Language :: Python :: 3.11" in meta.get_all("Classifier", [])
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().strip() == (release.repo / "README.md").read_text().strip()
    # the sdist's PKG-INFO says the same
    with tarfile.open(release.sdist) as archive:
        member = archive.extractfile(f"{MODULE}-{release.version}/PKG-INFO")
        assert member is not None
        pkg_info = email.parser.Parser().parsestr(member.read().decode())
    for key in ("Name", "Version", "Requires-Python", "License-Expression"):
        assert pkg_info[key] == meta[key]


# --- the bump task (on a throwaway git repository) ---------------------------------------


def _bump_command() -> str:
    steps = json.loads((ROOT / ".projen" / "tasks.json").read_text())["tasks"]["bump"]["steps"]
    commands = [s["exec"] for s in steps]
    # step 2 re-syncs the developer's venv: not run here, it would touch the project's .venv
    assert commands == ["node_modules/.bin/commit-and-tag-version", "uv sync --inexact --quiet"]
    return commands[0]


def test_bump_writes_version_changelog_commit_and_tag(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    repo.mkdir()
    _copy_clean_tree(repo)
    init = repo / "src" / MODULE / "_version.py"
    version = VERSION_RE.search(init.read_text())[1]  # type: ignore[index]
    major, minor, patch = (int(p) for p in version.split("-")[0].split(".")[:3])
    # commit-and-tag-version: below 1.0.0 a feature bumps the patch, above it the minor
    expected = f"{major}.{minor}.{patch + 1}" if major == 0 else f"{major}.{minor + 1}.0"
    env = _env(
        GIT_AUTHOR_NAME="Release Test",
        GIT_AUTHOR_EMAIL="release-test@example.invalid",
        GIT_COMMITTER_NAME="Release Test",
        GIT_COMMITTER_EMAIL="release-test@example.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        npm_config_yes="true",
    )

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
        ).stdout

    git("init", "--quiet", "--initial-branch", "main")
    git("add", "--all")
    git("commit", "--quiet", "-m", "chore: the released tree")
    git("tag", f"v{version}")
    (repo / "src" / MODULE / "new_layer.py").write_text('"""A new layer."""\n')
    git("add", "--all")
    git("commit", "--quiet", "-m", "feat(layers): a new layer")

    dry = subprocess.run(
        [*_bump_command().split(), "--dry-run"], cwd=repo, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert dry.returncode == 0, _output(dry)
    assert git("status", "--porcelain") == ""  # a dry run changes nothing
    assert f"from {version} to {expected}" in dry.stdout

    bump = subprocess.run(
        _bump_command().split(), cwd=repo, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert bump.returncode == 0, _output(bump)
    assert VERSION_RE.search(init.read_text())[1] == expected  # type: ignore[index]
    changelog = (repo / "CHANGELOG.md").read_text()
    assert changelog.count("# Changelog") == 1
    assert f"## [{expected}](" in changelog
    assert f"compare/v{version}...v{expected})" in changelog
    assert "### Features" in changelog and "**layers:** a new layer" in changelog
    assert git("tag", "--points-at", "HEAD").split() == [f"v{expected}"]
    assert git("log", "-1", "--format=%s").strip() == f"chore(release): {expected}"
    assert sorted(git("show", "--name-only", "--format=", "HEAD").split()) == [
        "CHANGELOG.md",
        f"src/{MODULE}/_version.py",
    ]
    assert git("status", "--porcelain") == ""
    # the tag check that CI runs before publishing agrees with the new version
    # (the mismatch case is in test_versioning.py)
    verify = _task(repo, "release:verify-tag", f"v{expected}")
    assert verify.returncode == 0, _output(verify)


# --- the user's side: a brand-new venv ----------------------------------------------------


def test_pip_installed_the_published_wheel_from_the_loopback_index(
    release: Release, pip_report: dict[str, object]
) -> None:
    installs = pip_report["install"]
    assert isinstance(installs, list)
    (ours,) = [i for i in installs if i["metadata"]["name"] == DIST]
    assert ours["metadata"]["version"] == release.version
    assert ours["download_info"]["url"] == f"{release.index_url}packages/{release.wheel.name}"
    assert ours["download_info"]["archive_info"]["hashes"]["sha256"] == _sha256(release.wheel)
    names = {i["metadata"]["name"] for i in installs}
    assert {"aws-cdk-lib", "constructs"} <= names
    assert not {"boto3", "click", "rich"} & names  # the operator command's extra only


def test_the_wheel_declares_the_console_script(release: Release) -> None:
    with zipfile.ZipFile(release.wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        entry_points = archive.read(name).decode()
    assert entry_points.split() == [
        "[console_scripts]",
        "dr-constructs",
        "=",
        "dr_constructs.cli:main",
    ]


def test_the_consumer_app_synthesizes_from_the_fresh_venv(
    release: Release, consumer: Consumer
) -> None:
    synth = consumer.synth
    assert synth["dr_constructs.__version__"] == synth["installed distribution"] == release.version
    assert str(synth["imported from"]).startswith(str(release.venv))
    assert synth["stacks"] == ["ConsumerStack"]
    assert Path(str(synth["template"])).is_file()
    types = synth["resource types"]
    assert isinstance(types, dict)
    for resource_type in (
        "AWS::EC2::VPC",
        "AWS::RDS::DBCluster",
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::Lambda::Function",
        "AWS::Backup::BackupPlan",
        "AWS::SNS::Topic",
        "AWS::KMS::Key",
    ):
        assert resource_type in types, f"{resource_type} missing from {sorted(types)}"
