"""MkDocs hooks of the docs site (mkdocs.yml ``hooks:``): the repository's Markdown, not copies.

A line ``{!path#Section!}`` in a page is replaced by that file's section (from its heading to
the next heading of the same or a higher level; ``#preamble`` is the text before the first
``##`` heading, without the title; no ``#`` is the whole file), with its relative links
rewritten for the site: ``docs/x.md`` becomes the page ``x.md``, ``examples/README.md`` the DR
operations page, ``CHANGELOG.md`` the changelog, any other file of the repository a link to
it on GitHub. Links of the pages in ``docs/`` that leave the folder are rewritten the same way.

``{!acknowledgements!}`` and ``{!checkov-skips!}`` become tables of every acknowledged
finding (CDK's ``aws:cdk:acknowledged-rules`` construct metadata) and every checkov skip (the
template's ``checkov`` Metadata) with its reason, read from DrPlatform as the example app
configures it, synthesized when the site is built: generated from the code, never retyped.
``{!posture-report!}`` becomes what DrPostureCheck reports on the hand-written stack of
``examples/handwritten/app.py``: its finding and its posture report, synthesized likewise.
"""

from __future__ import annotations

import posixpath
import re
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPO_URL = "https://github.com/dr-constructs/dr-constructs/blob/main"
#: Repository files that are pages of the site.
PAGES = {
    "README.md": "index.md",
    "examples/README.md": "operations.md",
    "CHANGELOG.md": "changelog.md",
    "docs": "index.md",
    "docs/README.md": "index.md",
}
_INCLUDE = re.compile(r"^\{!(?P<path>[^#!]+)(?:#(?P<section>[^!]*))?!\}\s*$", re.M)
_LINK = re.compile(r"(\]\()(?P<target>[^)\s]+)(\))")
_HEADING = re.compile(r"^(#{1,6}) (.+)$")


def section(text: str, name: str | None) -> str:
    """``name``'s section of the Markdown ``text`` (see the module docstring)."""
    if not name:
        return text
    lines = text.splitlines()
    if name == "preamble":
        body = [line for line in lines if not line.startswith("# ")]
        end = next((i for i, line in enumerate(body) if line.startswith("## ")), len(body))
        return "\n".join(body[:end]).strip() + "\n"
    fenced = False
    start = level = None
    for i, line in enumerate(lines):
        fenced ^= line.startswith("```")
        match = None if fenced else _HEADING.match(line)
        if not match:
            continue
        if start is None and match[2].strip() == name:
            start, level = i, len(match[1])
        elif start is not None and level is not None and len(match[1]) <= level:
            return "\n".join(lines[start:i]).strip() + "\n"
    if start is None:
        raise ValueError(f"no section {name!r}")
    return "\n".join(lines[start:]).strip() + "\n"


def rewrite_links(text: str, source: str, page: str) -> str:
    """Relative links of ``text`` (from the repository file ``source``) as seen from the site
    page ``page`` (a path under docs/)."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"]
        if re.match(r"^[a-z]+:|^#", target):
            return match[0]
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
        if resolved in PAGES:
            site_path = PAGES[resolved]
        elif resolved.startswith("docs/"):
            site_path = resolved[len("docs/") :]
        elif (ROOT / resolved).exists():
            return f"{match[1]}{REPO_URL}/{resolved}{'#' + anchor if anchor else ''}{match[3]}"
        else:
            return match[0]  # let mkdocs --strict report it
        relative = posixpath.relpath(site_path, posixpath.dirname(page) or ".")
        return f"{match[1]}{relative}{'#' + anchor if anchor else ''}{match[3]}"

    return _LINK.sub(replace, text)


@cache
def _example_platform() -> tuple[Any, dict[str, Any]]:
    """The construct tree and template of DrPlatform configured as the example app does."""
    from aws_cdk import App, Environment, RemovalPolicy, Stack

    from dr_constructs import DrPlatform

    app = App(analytics_reporting=False)
    stack = Stack(app, "Stack", env=Environment(account="123456789012", region="us-east-1"))
    DrPlatform(stack, "Dr", removal_policy=RemovalPolicy.DESTROY, drills=True)
    return app, app.synth().get_stack_by_name("Stack").template


def _table(header: tuple[str, ...], rows: dict[str, tuple[set[str], set[str]]]) -> str:
    """One row per reason: the findings and the constructs it covers."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for reason, (findings, paths) in sorted(rows.items(), key=lambda r: sorted(r[1][1])):
        cells = (
            ", ".join(f"`{f}`" for f in sorted(findings)),
            ", ".join(f"`{p}`" for p in sorted(paths)),
            reason.replace("|", "\\|"),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def acknowledgements() -> str:
    app, _ = _example_platform()
    rows: dict[str, tuple[set[str], set[str]]] = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type != "aws:cdk:acknowledged-rules":
                continue
            for rule, reason in entry.data.items():
                findings, paths = rows.setdefault(str(reason), (set(), set()))
                findings.add(rule.split("::", 1)[-1])
                paths.add(construct.node.path.removeprefix("Stack/Dr/") or "(stack)")
    return _table(("finding(s)", "on", "reason (from the code)"), rows)


def checkov_skips() -> str:
    _, template = _example_platform()
    rows: dict[str, tuple[set[str], set[str]]] = {}
    for logical_id, resource in template["Resources"].items():
        path = resource.get("Metadata", {}).get("aws:cdk:path", logical_id)
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            checks, paths = rows.setdefault(skip["comment"], (set(), set()))
            checks.add(skip["id"])
            paths.add(str(path).removeprefix("Stack/Dr/").removeprefix("Stack/"))
    return _table(("check(s)", "resource", "reason (from the code)"), rows)


def posture_report() -> str:
    """DrPostureCheck on examples/handwritten/app.py: CDK's finding, then the posture report."""
    import contextlib
    import importlib.util
    import json
    import tempfile

    from aws_cdk import App, Environment, Validations

    from dr_constructs import DrPostureCheck

    spec = importlib.util.spec_from_file_location(
        "handwritten_app", ROOT / "examples" / "handwritten" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tempfile.TemporaryDirectory() as out:
        app = App(outdir=out, analytics_reporting=False)
        env = Environment(account="123456789012", region="us-east-1")
        module.HandWrittenDrStack(app, "HandWrittenDr", env=env)
        Validations.of(app).add_plugins(DrPostureCheck())
        with contextlib.suppress(RuntimeError):  # the finding below fails synthesis
            app.synth()
        report = json.loads((Path(out) / "validation-report.json").read_text())
        posture = (Path(out) / "HandWrittenDr.dr-posture.md").read_text()
    findings = [
        f"ERROR {v['description']} ({r['pluginName']})\n"
        + "".join(f"   {c['constructPath']}\n" for c in v["violatingConstructs"])
        + f"   Suggested fix: {v['suggestedFix']}\n"
        f"   Acknowledge with '{r['pluginName']}::{v['ruleName']}'\n"
        for r in report["pluginReports"]
        for v in r["violations"]
    ]
    table = posture.split("\n", 2)[2]  # without the page title
    return "```\n" + "\n".join(findings) + "```\n\n" + table


GENERATED = {
    "acknowledgements": acknowledgements,
    "checkov-skips": checkov_skips,
    "posture-report": posture_report,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    page_path = page.file.src_uri  # e.g. "index.md", "reference/platform.md"

    def include(match: re.Match[str]) -> str:
        path = match["path"].strip()
        if path in GENERATED:
            return GENERATED[path]()
        text = section((ROOT / path).read_text(), match["section"])
        return rewrite_links(text, path, page_path)

    markdown = rewrite_links(markdown, f"docs/{page_path}", page_path)
    return _INCLUDE.sub(include, markdown)
