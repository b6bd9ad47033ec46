"""Compare training methods: every method × schedule × seed, in parallel, with a summary.

:func:`run_grid` trains one network per combination of update rule (``sgd``, ``momentum``,
``rprop+``, ``irprop-``, ``quickprop``, ``adam``, … — any name of
:data:`bprop.optim.methods.METHODS`), schedule (``online``, ``minibatch``, ``batch``) and seed.
The runs go through :class:`joblib.Parallel` (``backend="loky"``: separate processes, one per
core by default — DESIGN.md §3: grids of runs go through joblib, never a home-made pool), with
one progress bar over the whole grid. Every run of a seed starts from the same weights (the
seed initialises the network and orders the data), so methods are compared on equal terms.

What is measured, per run:

- ``epochs_to_target``: the first epoch whose *training* loss (the epoch loss the trainer
  reports; for full-batch training the loss at the weights before that epoch's update) is
  ≤ ``target_loss``; ``None`` when it is never reached. Training stops there.
- ``seconds_to_target``: the wall-clock training time up to the end of that epoch (the
  trainer's cumulative ``seconds``, which includes evaluating the validation split).
- the final training/validation loss and accuracy, the epochs run and the seconds taken.

:func:`summarize` reduces the runs per method × schedule to the median and interquartile
range (25th–75th percentile, ``numpy.percentile``'s linear interpolation) of epochs and
seconds to target over the *successful* runs, the success rate, and the medians of the final
losses and accuracies. Full-batch methods (``rule.requires_full_batch``: Rprop, Quickprop, the
bold driver) make no sense with online or mini-batch updates — the sign or the difference of
successive *sampled* gradients is noise — so those combinations are skipped unless
``allow_full_batch_mismatch=True``; either way the summary flags them.

Example::

    >>> from bprop.compare import run_grid, summarize, format_summary
    >>> rows = run_grid("xor", ["sgd", "irprop-"], ["batch"], seeds=2, epochs=300,
    ...                 target_loss=0.05, hidden=[4], n_jobs=1, progress=False)
    >>> len(rows)
    4
    >>> print(format_summary(summarize(rows)))  # doctest: +SKIP

A method may carry its own hyper-parameters (``"adam:lr=2e-3"``, :mod:`bprop.compare.methods`),
and :func:`bprop.compare.search.search_lr` finds each method's best learning rate on seeds kept
apart from the comparison's, so every method is shown at its best. Runs of one seed pair up
across methods, and :func:`bprop.compare.stats.paired_tests` gives each method's Wilcoxon
signed-rank test against the best one; :mod:`bprop.compare.tables` writes the summary as
Markdown and LaTeX. :func:`bprop.compare.sequence.run_sequence_grid` compares the recurrent
gradient algorithms — full BPTT, truncated BPTT(k1, k2), RTRL — on one sequence task, against
updates, wall time and memory.

The package: :mod:`bprop.compare.grid` plans and runs the grid, :mod:`bprop.compare.runs`
trains one network of it (in a worker process), :mod:`bprop.compare.summary` reduces and
formats the rows, :mod:`bprop.compare.results` writes and reads them as CSV.
"""

from bprop.compare.grid import SCHEDULES, GridResult, plan_grid, run_grid
from bprop.compare.results import CSV_COLUMNS, read_csv, write_csv
from bprop.compare.summary import format_summary, summarize

__all__ = [
    "CSV_COLUMNS",
    "SCHEDULES",
    "GridResult",
    "format_summary",
    "plan_grid",
    "read_csv",
    "run_grid",
    "summarize",
    "write_csv",
]
