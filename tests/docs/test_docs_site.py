"""The documentation site (docs/, mkdocs.yml): its Python examples run, and its API reference
and guide cover what they should. ``make docs`` builds the site itself (``mkdocs build
--strict``, which CI runs); these tests need no MkDocs."""

from __future__ import annotations

import importlib.util
import itertools
import pkgutil
import re
import shlex
from pathlib import Path

import pytest

import bprop
from bprop.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def code_blocks(path: Path, language: str) -> list[str]:
    """The bodies of the blocks fenced as exactly ```` ```language ```` in ``path``, in order."""
    return [b for info, b in FENCE.findall(path.read_text("utf-8")) if info.strip() == language]


RUNNABLE = [p for p in sorted(DOCS.rglob("*.md")) if code_blocks(p, "python")]
TYPES = sorted((DOCS / "types").glob("*.md"))


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(DOCS)) for p in RUNNABLE])
def test_page_examples_run(page, tmp_path, monkeypatch, capsys):
    """A page's ```python blocks, in order in one namespace, as from a checkout's root (the
    repository's ``examples/`` is there) but writing into a scratch folder."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(code_blocks(page, "python")):
        exec(compile(block, f"{page.relative_to(DOCS)} block {i + 1}", "exec"), namespace)


def _commands():
    """Every ``bprop …`` line of the site's ```sh blocks (continuations joined, comments and
    redirections dropped), with the page it is on."""
    out = []
    for page in sorted(DOCS.rglob("*.md")):
        for block in code_blocks(page, "sh"):
            for line in block.replace("\\\n", " ").splitlines():
                args = shlex.split(line, comments=True)
                if args and args[0] == "bprop":
                    args = list(itertools.takewhile(lambda a: a not in (">", "|", "&&"), args))
                    out.append(pytest.param(args[1:], id=f"{page.name}: {' '.join(args[1:3])}"))
    return out


@pytest.mark.parametrize("args", _commands())
def test_every_command_shown_parses(args):
    """The options the pages show exist (what the commands do is tested with the CLI)."""
    build_parser().parse_args(args)


def test_every_type_page_has_maths_paper_example_and_plot():
    plots = _plots_module().PLOTS
    shown = set()
    for page in TYPES:
        if page.name == "index.md":
            continue
        text = page.read_text("utf-8")
        assert code_blocks(page, "python"), f"{page.name}: no runnable example"
        assert code_blocks(page, "text"), f"{page.name}: no maths block"
        assert re.search(r"\b(19|20)\d\d\b", text), f"{page.name}: no paper cited"
        figures = re.findall(r"\]\(\.\./plots/([\w.]+)\)", text)
        assert figures and set(figures) <= set(plots), f"{page.name}: figures {figures}"
        shown |= set(figures)
    assert shown == set(plots), f"plots drawn but shown on no page: {set(plots) - shown}"


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text("utf-8")
    for page in DOCS.rglob("*.md"):
        assert str(page.relative_to(DOCS)) in nav, f"{page} is not in mkdocs.yml's nav"


def public_modules() -> list[str]:
    """Every module of bprop whose dotted name has no part starting with an underscore."""
    names = ["bprop"]
    for m in pkgutil.walk_packages(bprop.__path__, "bprop."):
        if not any(part.startswith("_") for part in m.name.split(".")):
            names.append(m.name)
    return names


def test_api_reference_covers_every_public_module():
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: ([\w.]+)", page.read_text("utf-8"), re.M))
    missing = sorted(set(public_modules()) - documented)
    assert not missing, f"add these modules to a page of docs/api/: {missing}"


def _plots_module():
    spec = importlib.util.spec_from_file_location("bprop_docs_plots", DOCS / "plots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sphinx_roles_show_as_code_in_the_reference():
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location("griffe_roles", DOCS / "griffe_roles.py")
    roles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roles)
    text = "See :class:`~bprop.train.Trainer` and :func:`bprop.fit`. Example::\n\n    >>> 1"
    assert roles.plain(text) == "See `Trainer` and `bprop.fit`. Example:\n\n    >>> 1"
