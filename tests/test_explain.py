"""bprop explain: the textbook example's published numbers, Rprop step sizes, user networks."""

import numpy as np
import pytest

import bprop as bp
from bprop.cli import main
from bprop.explain import ExplainError, explain
from bprop.textbook import PUBLISHED as TEXTBOOK

# Mazur (2015), "A step by step backpropagation example": forward values and updated weights
FORWARD_KEYS = (
    "net_h1",
    "out_h1",
    "out_h2",
    "net_o1",
    "out_o1",
    "out_o2",
    "E_o1",
    "E_o2",
    "E_total",
)
PUBLISHED = {k: TEXTBOOK[k] for k in FORWARD_KEYS}
UPDATED = {k: float(TEXTBOOK[k]) for k in ("w5", "w6", "w7", "w8", "w1", "w2", "w3", "w4")}


def _md_row(text, first_cell):
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no Markdown row for {first_cell!r}")


def test_markdown_has_the_published_values(capsys):
    assert main(["explain", "--format", "md"]) == 0
    text = capsys.readouterr().out
    for name, value in PUBLISHED.items():
        assert value in text, name
    assert _md_row(text, "h1")[2].startswith("0.593269992")
    assert _md_row(text, "o1")[2].startswith("0.75136507")
    assert _md_row(text, "w5")[-1].startswith("0.35891648")
    assert _md_row(text, "w1")[-1].startswith("0.149780716")
    assert "E_total = 0.298371109" in text
    for name, value in UPDATED.items():  # published to 8 or 9 decimals
        assert float(_md_row(text, name)[-1]) == pytest.approx(value, abs=6e-9), name


def test_irprop_plus_shows_step_sizes_and_sign_changes():
    text = explain(method="irprop+", steps=3, fmt="md")
    assert "step Δ before" in text and "step Δ after" in text
    assert _md_row(text, "w5")[-1] == "0.100000000"  # step 1 keeps Δ0 = 0.1
    assert "0.120000000" in text  # step 2: same sign, Δ grows by η⁺ = 1.2
    assert "## Step 3" in text


def test_user_network_file(tmp_path):
    net = bp.Sequential(bp.Dense(3, 2, rng=0), bp.Tanh(), bp.Dense(2, 1, rng=1))
    path = tmp_path / "small.bprop"
    bp.save(net, path)
    text = explain(network=path, inputs="0.1,0.2,0.3", targets="0.5", lr=0.1)
    assert "w1[1→1]" in text and "b[o1]" in text
    big = bp.Sequential(bp.Dense(65, 32, rng=0), bp.Tanh(), bp.Dense(32, 10, rng=1))
    bp.save(big, tmp_path / "big.bprop")
    with pytest.raises(ExplainError, match="too large"):
        explain(network=tmp_path / "big.bprop", inputs=np.zeros(65), targets=np.zeros(10))
    with pytest.raises(ExplainError, match="input"):
        explain(network=path)
