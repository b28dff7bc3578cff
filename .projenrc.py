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

project = PythonProject(
    name=NAME,
    module_name=MODULE,
    # the version lives in src/dr_constructs/__init__.py (see [tool.hatch.version])
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
        "cfn-lint==1.58.0",
        "ruff==0.17.5",
        "mypy==2.4.1",
        "moto[dynamodb,s3,secretsmanager]==5.2.5",
        "boto3==1.44.5",
        "pypiserver==2.4.2",
        "passlib==1.7.4",
        "twine==6.1.0",
        "build==1.6.1",
        "pytest-benchmark==5.3.1",
    ],
)

pyproject = project.try_find_object_file("pyproject.toml")
assert pyproject is not None
# One version source: hatchling reads __version__ from the package.
pyproject.add_deletion_override("project.version")
pyproject.add_override("project.dynamic", ["version"])
pyproject.add_override("project.readme", "README.md")
pyproject.add_override("project.license-files", ["LICENSE"])
pyproject.add_override("project.keywords", ["aws-cdk", "cdk", "disaster-recovery", "aws-backup", "aurora"])
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
pyproject.add_override("tool.hatch.version.path", f"src/{MODULE}/__init__.py")
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
        "filterwarnings": ["ignore::DeprecationWarning:jsii.*"],
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
JsonFile(
    project,
    "package.json",
    obj={
        "name": "dr-constructs-tools",
        "private": True,
        "description": "Node tools used by dr-constructs' tasks (generated by projen).",
        "devDependencies": {"aws-cdk": CDK_CLI_VERSION},
    },
)
TextFile(
    project,
    ".npmrc",
    lines=["# generated by projen", "omit-lockfile-registry-resolved=true", "fund=false", "audit=false"],
)

tasks = project.tasks
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
test.exec("pytest", receive_args=True)
project.add_task(
    "test:fast",
    description="unit and snapshot tests only (the inner loop)",
    exec="pytest -m 'not slow'",
    receive_args=True,
)
project.add_task(
    "synth",
    description="synthesize the example app with the AWS CDK CLI into examples/cdk.out",
    cwd="examples",
    exec="../node_modules/.bin/cdk synth --quiet",
    receive_args=True,
)

project.synth()
