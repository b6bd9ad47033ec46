"""The rows of a comparison grid as a CSV file, one run per line (:func:`write_csv`,
:func:`read_csv`), with the columns of :data:`CSV_COLUMNS`."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from typing import Any

from bprop.modelfile.atomic import write_atomically

#: the CSV columns written by :func:`write_csv`, in order, and what each holds
CSV_COLUMNS: dict[str, str] = {
    "method": "update rule name (bprop.optim.methods.METHODS)",
    "schedule": "online, minibatch or batch",
    "seed": "seed of the initial weights, the data order and the validation split",
    "lr": "learning rate the rule used, its default included (empty: the rule has none)",
    "success": "1 if the training loss reached target_loss, else 0",
    "epochs_to_target": "first epoch with training loss <= target_loss (empty: not reached)",
    "seconds_to_target": "training seconds up to the end of that epoch (empty: not reached)",
    "train_loss": "final training loss (the last epoch's loss)",
    "val_loss": "final validation loss (empty without a validation split)",
    "train_accuracy": "final training accuracy (empty for regression)",
    "val_accuracy": "final validation accuracy (empty without validation or for regression)",
    "epochs": "epochs run",
    "seconds": "total training seconds",
    "stopped_because": "target_loss, epochs or diverged",
    "full_batch_mismatch": "1 if a full-batch rule ran on online/mini-batch updates",
    "updates": "weight updates made (sequence comparisons; empty otherwise)",
    "peak_memory_mb": "peak MB allocated while training (sequence comparisons; empty otherwise)",
}


def write_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> str:
    """Write one row per run to ``path`` (the per-epoch curves are left out).

    Columns, in order (:data:`CSV_COLUMNS`): ``method``, ``schedule``, ``seed``, ``lr``,
    ``success`` (1/0), ``epochs_to_target``, ``seconds_to_target`` (empty when the target was
    not reached), ``train_loss``, ``val_loss``, ``train_accuracy``, ``val_accuracy`` (the final
    values; empty when not applicable), ``epochs``, ``seconds``, ``stopped_because``
    (``target_loss``, ``epochs`` or ``diverged``), ``full_batch_mismatch`` (1/0), ``updates``
    and ``peak_memory_mb`` (filled by :func:`bprop.compare.sequence.run_sequence_grid`).
    Floats are written with ``repr`` precision, so medians recomputed from the file equal
    :func:`summarize`'s. The file is written atomically (a temporary file renamed over
    ``path``: :func:`bprop.modelfile.atomic.write_atomically`). Returns the path.
    """
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(list(CSV_COLUMNS))
    for r in rows:
        out = []
        for col in CSV_COLUMNS:
            v = r.get(col)
            if isinstance(v, bool):
                v = int(v)
            out.append("" if v is None else repr(v) if isinstance(v, float) else v)
        w.writerow(out)
    data = text.getvalue().encode("utf-8")
    write_atomically(path, lambda fh: fh.write(data))
    return os.fspath(path)


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a file written by :func:`write_csv` (values as strings)."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
