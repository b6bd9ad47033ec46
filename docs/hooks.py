"""MkDocs hooks: draw the guide's figures (``docs/plots.py``) into the site at build time,
list the names of ``bprop.__all__`` on the package page of the API reference, and write the
command-line reference from the ``bprop`` command's own parser.

Each plot becomes a generated file ``plots/NAME.png`` of the build, so pages link to it as
``../plots/NAME.png`` and nothing is committed or written into ``docs/``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mkdocs.structure.files import File


def _sibling(name: str):
    """The module ``docs/NAME.py`` (the docs folder is not a package)."""
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"bprop_docs_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_files(files, config):
    plots = _sibling("plots")
    for name in plots.PLOTS:
        files.append(File.generated(config, f"plots/{name}", content=plots.render(name)))
    return files


_NAMES_MARKER = "<!-- the names of bprop.__all__ -->"


def names_table() -> str:
    """A Markdown table of every name ``import bprop as bp`` exports, each linked to the
    reference entry where it is defined, with the first line of its docstring."""
    import inspect

    import bprop

    roles = _sibling("griffe_roles")
    rows = ["| name | what it is |", "|---|---|"]
    for name in sorted(bprop.__all__, key=str.lower):
        obj = getattr(bprop, name)
        target = obj.__name__ if inspect.ismodule(obj) else f"{obj.__module__}.{obj.__qualname__}"
        summary = (inspect.getdoc(obj) or "").strip().split("\n\n")[0].replace("\n", " ")
        summary = roles.plain(summary).replace("|", "\\|")
        rows.append(f"| [`bp.{name}`][{target}] | {summary} |")
    return "\n".join(rows)


def on_page_markdown(markdown, page, config, files):
    return _expand(markdown)


_CLI_MARKER = "<!-- bprop commands -->"


def cli_reference() -> str:
    """Every sub-command of ``bprop`` with its ``--help``, read from the command's own parser
    (so the page cannot fall behind the options)."""
    import argparse
    import os

    from bprop.cli import build_parser

    os.environ.setdefault("COLUMNS", "100")  # argparse wraps its help to the terminal width
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {a.dest: a.help for a in sub._choices_actions}
    parts = []
    for name, command in sub.choices.items():
        parts += [f"## bprop {name}", "", f"{helps.get(name, '').capitalize()}.", ""]
        parts += ["```text", command.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def _expand(markdown: str) -> str:
    if _NAMES_MARKER in markdown:
        markdown = markdown.replace(_NAMES_MARKER, names_table())
    if _CLI_MARKER in markdown:
        markdown = markdown.replace(_CLI_MARKER, cli_reference())
    return markdown
