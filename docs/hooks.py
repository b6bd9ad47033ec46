"""MkDocs hook: draw the guide's figures (``docs/plots.py``) into the site at build time.

Each plot becomes a generated file ``plots/NAME.png`` of the build, so pages link to it as
``../plots/NAME.png`` and nothing is committed or written into ``docs/``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mkdocs.structure.files import File

_PLOTS = Path(__file__).with_name("plots.py")


def _plots_module():
    spec = importlib.util.spec_from_file_location("bprop_docs_plots", _PLOTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_files(files, config):
    plots = _plots_module()
    for name in plots.PLOTS:
        files.append(File.generated(config, f"plots/{name}", content=plots.render(name)))
    return files
