"""Shared test settings."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    """Run BLAS on one thread. The suite multiplies small matrices, where OpenBLAS's second
    thread gains nothing, and on a shared 2-core machine its busy-waiting against other
    processes made some tests up to 30x slower (same results either way)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
