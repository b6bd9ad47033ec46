"""The documentation — the site (docs/, mkdocs.yml) and the README — works as written: its
Python examples run, every ``bprop`` command it shows parses and the README's quick ones run,
and the API reference and the guide cover what they should. ``make docs`` builds the site
itself (``mkdocs build --strict``, which CI runs); these tests need no MkDocs.

A block fenced ```` ```python ```` runs (a page's blocks in order, in one namespace, as a
reader pastes them); one fenced ```` ```py ```` is an illustration and does not."""

from __future__ import annotations

import importlib.util
import itertools
import pkgutil
import re
import shlex
from pathlib import Path

import pytest

import bprop
from bprop.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = [*sorted(DOCS.rglob("*.md")), README]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def code_blocks(path: Path, language: str) -> list[str]:
    """The bodies of the blocks fenced as exactly ```` ```language ```` in ``path``, in order."""
    return [b for info, b in FENCE.findall(path.read_text("utf-8")) if info.strip() == language]


def commands(path: Path) -> list[list[str]]:
    """Every ``bprop …`` line of the page's ```sh blocks, continuation lines joined, comments
    and shell redirections dropped, as arguments after ``bprop``."""
    out = []
    for block in code_blocks(path, "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            args = shlex.split(line, comments=True)
            if args and args[0] == "bprop":
                out.append(list(itertools.takewhile(lambda a: a not in (">", "|", "&&"), args))[1:])
    return out


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


RUNNABLE = [p for p in PAGES if code_blocks(p, "python")]
TYPES = sorted((DOCS / "types").glob("*.md"))
SHOWN = [pytest.param(a, id=f"{_name(p)}: {' '.join(a[:2])}") for p in PAGES for a in commands(p)]


def _scratch(tmp_path: Path, monkeypatch) -> None:
    """Work in a scratch folder that has the repository's ``examples/``, as a checkout's root."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("page", RUNNABLE, ids=_name)
def test_page_examples_run(page, tmp_path, monkeypatch, capsys):
    _scratch(tmp_path, monkeypatch)
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(code_blocks(page, "python")):
        exec(compile(block, f"{_name(page)} block {i + 1}", "exec"), namespace)


@pytest.mark.parametrize("args", SHOWN)
def test_every_command_shown_parses(args):
    """The options the pages show exist (what the commands do is tested with the CLI)."""
    build_parser().parse_args(args)


def test_readme_has_the_commands_it_promises():
    verbs = {args[0] for args in commands(README)}
    promised = {"train", "evaluate", "predict", "explain", "compare", "datasets"}
    assert promised | {"diagnose", "export", "translate", "sample"} <= verbs
    flags = {a for args in commands(README) for a in args if a.startswith("--")}
    assert {"--log-dir", "--checkpoint-every", "--resume", "--algorithm"} <= flags
    text = README.read_text("utf-8")
    assert "prices.csv" not in text
    for path in re.findall(r"--data (examples/\S+)", text):
        assert (ROOT / path).is_file(), f"the README uses {path}, which does not exist"


def test_quick_readme_commands_run(tmp_path, monkeypatch, capsys):
    """The README's commands, in order, except those that train for minutes (``--task``, and
    ``sample``/``translate``, which use what a task trained), start worker processes
    (``compare``) or need a cluster or shards (``--shards``, ``--resume``, ``--mpi``): those are
    parsed above, and tested in their own files."""
    _scratch(tmp_path, monkeypatch)
    needs_more = {"--task", "--shards", "--resume", "--mpi", "--scheduler"}
    for args in commands(README):
        if args[0] in ("sample", "translate", "compare") or needs_more & set(args):
            continue
        code = main(args)
        assert code == 0, f"bprop {shlex.join(args)} exited {code}: {capsys.readouterr().err}"


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
    for page in sorted((DOCS / "guides").glob("*.md")):
        shown |= set(re.findall(r"\]\(\.\./plots/([\w.]+)\)", page.read_text("utf-8")))
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
