"""The docs site: built with ``mkdocs build --strict``, nothing fetched, every Python sample
executed, the home and API pages rendered in Chromium, the architecture picture current."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from aws_cdk import App, Environment, Stack

import dr_constructs
from dr_constructs import DrPlatform

from . import chromium as chromium_setup
from .conftest import ACCOUNT, REGION

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
VENV_BIN = Path(sys.executable).parent
HOME_SCREENSHOT_COPY = Path("/tmp/docs-home.png")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


hooks = _load("docs_hooks")
architecture = _load("architecture")


def _nav_pages() -> list[str]:
    def walk(entries: list[Any]) -> list[str]:
        pages = []
        for entry in entries:
            for value in entry.values():
                pages.extend(walk(value) if isinstance(value, list) else [value])
        return pages

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return walk(config["nav"])


def _constructs() -> dict[str, type]:
    return {
        name: getattr(dr_constructs, name)
        for name in dr_constructs.__all__
        if inspect.isclass(getattr(dr_constructs, name))
    }


# --- fast: the include hook, the reference pages, the README's picture ---------------------


def test_section_runs_from_its_heading_to_the_next_of_its_level() -> None:
    readme = (ROOT / "README.md").read_text()
    upgrading = hooks.section(readme, "Upgrading")
    assert upgrading.startswith("## Upgrading\n")
    assert "cdk diff" in upgrading and "## Compatibility" not in upgrading
    using = hooks.section(readme, "Using the library")
    assert "### Recovery objectives, checked at synth" in using  # sub-sections stay
    assert "## Development" not in using
    preamble = hooks.section(readme, "preamble")
    assert not preamble.startswith("# ") and "## " not in preamble
    with pytest.raises(ValueError, match="no section"):
        hooks.section(readme, "No such heading")


def test_links_of_included_files_point_at_site_pages() -> None:
    text = (
        "[a](docs/objectives.md#rpo) [b](examples/README.md#cleanup) [c](CHANGELOG.md) "
        "[d](LICENSE) [e](https://semver.org) [f](#local) [g](docs/architecture.svg)"
    )
    assert hooks.rewrite_links(text, "README.md", "index.md") == (
        "[a](objectives.md#rpo) [b](operations.md#cleanup) [c](changelog.md) "
        f"[d]({hooks.REPO_URL}/LICENSE) [e](https://semver.org) [f](#local) "
        "[g](architecture.svg)"
    )
    # from a page in a sub-folder, and from a page of docs/ that links out of it
    assert hooks.rewrite_links("[a](docs/drills.md)", "README.md", "reference/x.md") == (
        "[a](../drills.md)"
    )
    assert hooks.rewrite_links("[r](../README.md)", "docs/drills.md", "drills.md") == (
        "[r](index.md)"
    )


def test_every_construct_has_a_generated_api_page_in_the_nav() -> None:
    nav = _nav_pages()
    directives = {
        match
        for page in nav
        if page.startswith("reference/")
        for match in re.findall(r"^::: (\S+)$", (DOCS / page).read_text(), re.M)
    }
    for name, cls in _constructs().items():
        assert f"{cls.__module__}.{name}" in directives, name
    for page in nav:
        assert (DOCS / page).exists(), page


def test_readme_shows_the_architecture_picture() -> None:
    assert "](docs/architecture.svg)" in (ROOT / "README.md").read_text()
    svg = (DOCS / "architecture.svg").read_text()
    assert svg.startswith("<svg ") and "<script" not in svg and "href=" not in svg


# --- slow: the built site -------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` (what ``./dev docs`` runs) into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(
        [str(VENV_BIN / "mkdocs"), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    return out


class _Resources(HTMLParser):
    """Every URL a page makes the browser load: scripts, styles, icons, images, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed"):
            self.urls.append(found.get("src") or "")
        if tag == "link" and set((found.get("rel") or "").split()) & {
            "stylesheet", "icon", "preload", "prefetch", "manifest", "modulepreload",
            "preconnect", "dns-prefetch",
        }:  # fmt: skip
            self.urls.append(found.get("href") or "")


@pytest.mark.slow
def test_site_builds_strict_with_every_page(site: Path) -> None:
    for page in _nav_pages():
        assert (site / page).with_suffix(".html").is_file(), page
    assert (site / "architecture.svg").read_bytes() == (DOCS / "architecture.svg").read_bytes()
    # included, not copied: the operations page is examples/README.md, the changelog CHANGELOG.md
    assert 'id="restore-with-the-operator-command"' in (site / "operations.html").read_text()
    assert len((DOCS / "operations.md").read_text().splitlines()) == 1
    for page in site.rglob("*.html"):
        assert "{!" not in page.read_text(), page  # every include resolved
    # the compliance page's tables are generated from the synthesized constructs
    compliance = (site / "compliance.html").read_text()
    assert "<code>Database/Cluster</code>" in compliance
    assert "False positive (cdk-nag issue 1627)" in compliance  # a reason from backup.py
    assert "<code>CKV_AWS_18</code>" in compliance  # a checkov skip from storage.py


@pytest.mark.slow
def test_site_loads_nothing_from_the_network(site: Path) -> None:
    remote = re.compile(r"^(?:[a-z]+:)?//", re.I)
    for page in site.rglob("*.html"):
        parser = _Resources()
        parser.feed(page.read_text())
        assert parser.urls, page
        assert [u for u in parser.urls if remote.match(u)] == [], page
    for css in site.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//|@import", css.read_text()), css
    assert not list(site.rglob("*.woff*")), "no web fonts"


@pytest.mark.slow
def test_api_pages_document_every_prop_from_the_docstrings(site: Path) -> None:
    pages = {
        directive: page
        for page in _nav_pages()
        if page.startswith("reference/")
        for directive in re.findall(r"^::: (\S+)$", (DOCS / page).read_text(), re.M)
    }
    for name, cls in _constructs().items():
        html = (site / pages[f"{cls.__module__}.{name}"]).with_suffix(".html").read_text()
        summary = (inspect.getdoc(cls) or "").splitlines()[0]
        assert summary.split(":")[0][:40] in html, name
        for param in inspect.signature(cls).parameters.values():
            if param.kind is param.KEYWORD_ONLY:
                assert f"<code>{param.name}</code>" in html, (name, param.name)


# --- every Python sample of the pages, executed ---------------------------------------------

#: What the hand-composed samples call the layers (as the README's composition sample does).
_LAYERS = {
    "network": "network",
    "data": "database",
    "storage": "storage",
    "health_check": "function",
    "vault": "backup",
    "observability": "observability",
}


def _samples() -> list[Any]:
    sources = [ROOT / "README.md", ROOT / "examples" / "README.md", *sorted(DOCS.rglob("*.md"))]
    samples = []
    for source in sources:
        text = source.read_text()
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.M | re.S):
            line = text.count("\n", 0, match.start()) + 2
            name = f"{source.relative_to(ROOT)}:{line}"
            samples.append(pytest.param(name, match[1], id=name))
    return samples


SAMPLES = _samples()


def test_the_pages_have_python_samples() -> None:
    assert len(SAMPLES) >= 10


@pytest.mark.slow
@pytest.mark.parametrize(("where", "code"), SAMPLES)
def test_python_sample_synthesizes(where: str, code: str) -> None:
    """The sample runs as written, given a ``stack`` (and ``app``) and, for samples that wire
    layers by hand, the layers of a DrPlatform under the names the README gives them."""
    compiled = compile(code, where, "exec")
    app = App(analytics_reporting=False)
    stack = Stack(app, "Docs", env=Environment(account=ACCOUNT, region=REGION))
    namespace: dict[str, Any] = {"__name__": "docs_sample", "app": app, "stack": stack}
    if set(compiled.co_names) & set(_LAYERS):
        base = DrPlatform(stack, "Base", restore_tests=False)
        namespace.update({name: getattr(base, attr) for name, attr in _LAYERS.items()})
    exec(compiled, namespace)
    assembly = app.synth()
    template = assembly.get_stack_by_name("Docs").template
    assert isinstance(template, dict)


# --- the architecture picture -----------------------------------------------------------------


@pytest.fixture(scope="module")
def example_template() -> dict[str, Any]:
    return architecture.synthesize_example()  # type: ignore[no-any-return]


@pytest.mark.slow
def test_architecture_picture_is_drawn_from_the_current_code(
    example_template: dict[str, Any],
) -> None:
    committed = (DOCS / "architecture.svg").read_text()
    assert architecture.render(example_template) == committed, (
        "docs/architecture.svg is stale: run ./dev docs and commit the picture"
    )


@pytest.mark.slow
def test_architecture_shows_what_the_template_holds(example_template: dict[str, Any]) -> None:
    arch = architecture.Architecture.of(example_template)
    assert list(arch.subnets) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert all(
        sorted(kind for kind, _ in subnets) == ["Isolated", "Public"]
        for subnets in arch.subnets.values()
    )
    roles = sorted(i.split()[0] for placed in arch.instances.values() for i in placed)
    assert roles == ["reader", "writer"] and len(arch.instances) == 2  # two AZs
    assert arch.gateway_endpoints == ["dynamodb", "s3"]
    assert arch.vpc_functions == ["dr-function-dev"]
    assert arch.drills == [
        "aurora-failover", "az-us-east-1a", "az-us-east-1b", "az-us-east-1c",
        "dynamodb-unreachable", "s3-unreachable",
    ] and arch.alarms > 10  # fmt: skip
    svg = architecture.draw(arch)
    for fact in ("10.0.0.0/16", "us-east-1c", "Aurora writer", "dr-table-dev", "dr-vault-dev"):
        assert fact in svg, fact
    # the picture follows the template: one AZ fewer, one column fewer
    fewer = {
        **example_template,
        "Resources": {
            k: r for k, r in example_template["Resources"].items() if not _in_us_east_1c(r)
        },
    }
    assert "us-east-1c" not in architecture.render(fewer)


#: The tag naming a drill template (dr_constructs.drills.DRILL_TAG).
DRILL_TAG = "dr-constructs:drill"


def _in_us_east_1c(resource: dict[str, Any]) -> bool:
    """Placed in us-east-1c, or the drill of that AZ (DrDrills builds one per AZ it uses)."""
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::FIS::ExperimentTemplate":
        return props["Tags"][DRILL_TAG] == "az-us-east-1c"  # type: ignore[no-any-return]
    return props.get("AvailabilityZone") == "us-east-1c"  # type: ignore[no-any-return]


# --- the site in a browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Path:
    try:
        return chromium_setup.ensure_chromium()
    except chromium_setup.ChromiumUnavailable as exc:
        pytest.fail(str(exc))


def _watch(page: Any) -> tuple[list[str], list[str]]:
    """The console errors and uncaught exceptions of ``page``, and what it fetched from
    anywhere but the disk."""
    errors: list[str] = []
    fetched: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    local = ("file:", "data:", "blob:")
    page.on("request", lambda r: None if r.url.startswith(local) else fetched.append(r.url))
    return errors, fetched


@pytest.mark.slow
def test_home_and_api_pages_render_in_chromium(site: Path, chromium: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for name, page_path, heading in (
                ("home", "index.html", "dr-constructs"),
                ("api", "reference/platform.html", "DrPlatform"),
            ):
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                errors, fetched = _watch(page)
                page.goto((site / page_path).as_uri(), wait_until="load")
                assert "dr-constructs" in page.title()
                assert heading in page.locator("article h1").first.inner_text()
                nav = page.locator("nav.md-nav--primary a.md-nav__link")
                assert nav.count() >= 20, nav.count()  # every page of the nav
                images = page.evaluate(
                    "() => [...document.images].map(i => [i.src, i.complete, i.naturalWidth])"
                )
                if name == "home":
                    (picture,) = [i for i in images if i[0].endswith("/architecture.svg")]
                    assert picture[1] and picture[2] > 1000, picture  # loaded, drawn full size
                else:
                    assert page.locator("td code", has_text="environment_suffix").count() >= 1
                screenshot = tmp_path / f"{name}.png"
                page.screenshot(path=str(screenshot), full_page=name == "home")
                assert screenshot.stat().st_size > 20_000
                assert errors == [], errors
                assert fetched == [], fetched
                if name == "home":
                    shutil.copy(screenshot, HOME_SCREENSHOT_COPY)
                page.close()
        finally:
            browser.close()
