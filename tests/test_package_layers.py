"""The package's layering: the core (layers, cells, losses, update rules) never imports the
training loop, the applications, the command line or the report above it (DESIGN.md §2)."""

import ast
from pathlib import Path

import pytest

import bprop

ROOT = Path(bprop.__file__).parent
CORE = [
    "layers",
    "recurrent",
    "optim",
    "losses.py",
    "ops",
    "backend.py",
    "errors.py",
    "divergence.py",
    "registry.py",
]
ABOVE = {
    "train",
    "tasks",
    "cli",
    "report",
    "compare",
    "demo",
    "explain",
    "sklearn",
    "io",
    "modelfile",
}


def imported_bprop_modules(path: Path) -> set[str]:
    """The ``bprop.X`` top-level names a file imports (anywhere in it, functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "bprop":
                found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "bprop" and len(parts) > 1:
                    found.add(parts[1])
    return found


def core_files():
    for entry in CORE:
        p = ROOT / entry
        yield from (sorted(p.rglob("*.py")) if p.is_dir() else [p])


@pytest.mark.parametrize("path", list(core_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_nothing_above_it(path):
    wrong = imported_bprop_modules(path) & ABOVE
    assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)} from above the core"


def test_the_check_sees_a_back_edge(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from bprop.train.trainer import fit\n    from bprop import io\n")
    assert imported_bprop_modules(f) == {"train", "io"}


def test_one_registry_holds_every_saved_name():
    from bprop import registry
    from bprop.layers import LAYERS
    from bprop.optim import RULES
    from bprop.recurrent import CELLS

    assert LAYERS is registry.table("layer") and RULES is registry.table("rule")
    assert CELLS is registry.table("cell")
    assert {"Dense", "Recurrent", "TimeDistributed", "SettlingNetwork"} <= set(LAYERS)
    assert {"SGD", "Adam", "Rprop", "Chain", "ScaleBySchedule"} <= set(RULES)
    assert set(CELLS) == {"Elman", "LSTM", "GRU", "PeepholeLSTM", "GRUResetBefore"}
