"""Shared test settings."""

import os

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def blas_threads():
    """Run BLAS on one thread unless ``BPROP_TEST_BLAS_THREADS=machine``.

    The suite multiplies small matrices, where OpenBLAS's second thread gains nothing, and on a
    shared 2-core machine its busy-waiting against other processes made some tests up to 30x
    slower. Results must not depend on it: CI runs the suite once with the machine's own
    thread count (``BPROP_TEST_BLAS_THREADS=machine``) and once with one thread."""
    if os.environ.get("BPROP_TEST_BLAS_THREADS", "1") == "machine":
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
