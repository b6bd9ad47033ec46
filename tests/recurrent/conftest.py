"""Fixtures shared by the recurrent tests."""

import pytest


@pytest.fixture(params=["stacked", "projected"])
def step_product(request, monkeypatch):
    """The fast path's two ways to make a step's pre-activations (workspace.stacks): these
    small cells with one fused bias stack [W_ih | b | W_hh] by default; "projected" projects
    the inputs ahead, as for more than STACK_MAX_ROWS gate rows."""
    if request.param == "projected":
        monkeypatch.setattr("bprop.recurrent.workspace.STACK_MAX_ROWS", 0)
    return request.param
