"""The README works as written: its ```python blocks run, every ``bprop`` command in it parses,
and the quick ones run (in a scratch folder that has the repository's ``examples/``).

Commands that train for minutes (``--task``, ``sample``) or start worker processes
(``compare``) are only parsed here; their options are checked, and what they do is tested in
their own test files."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bprop.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [body for info, body in FENCE.findall(README) if info.strip() == language]


def commands() -> list[list[str]]:
    """Every ``bprop …`` line of the README's sh blocks, continuation lines joined, comments
    dropped, as argument lists without the leading ``bprop``."""
    out = []
    for block in blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            args = shlex.split(line, comments=True)
            if args and args[0] == "bprop":
                out.append(args[1:])
    return out


def quick(args: list[str]) -> bool:
    return args[0] not in ("sample", "compare") and "--task" not in args


def test_readme_has_the_commands_it_promises():
    verbs = {args[0] for args in commands()}
    assert {"train", "evaluate", "predict", "explain", "compare", "datasets"} <= verbs
    assert "prices.csv" not in README
    for path in re.findall(r"--data (examples/\S+)", README):
        assert (ROOT / path).is_file(), f"the README uses {path}, which does not exist"


@pytest.mark.parametrize("args", commands(), ids=lambda a: " ".join(a)[:60])
def test_every_readme_command_parses(args):
    build_parser().parse_args(args)


def test_quick_readme_commands_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    for args in filter(quick, commands()):
        code = main(args)
        assert code == 0, f"bprop {shlex.join(args)} exited {code}: {capsys.readouterr().err}"


def test_readme_python_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    for i, block in enumerate(blocks("python")):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
