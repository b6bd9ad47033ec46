"""What of a :class:`bprop.Trainer` a model file keeps so that training resumes exactly: the
epoch, the data-order generator, the schedule, the L2 factor, the validation split, and after
an interruption the epoch in progress and the early-stopping best weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend
from bprop.modelfile.validate import check_progress, check_split_index


def trainer_parts(
    trainer: Any, split_key: str, best_key: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A Trainer's resumable state: JSON fields and arrays (the validation split's indices and,
    after an interruption, the epoch in progress and the early-stopping best weights), the
    arrays under the member names ``split_key`` and ``best_key``."""
    from bprop.train.schedules import Schedule

    if not isinstance(trainer.schedule, Schedule):
        raise ValueError(
            f"a Trainer on a {type(trainer.schedule).__name__} (truncated BPTT or RTRL) cannot be "
            "saved as a resumable run yet; save the network and the rule's state instead: "
            "bp.save(trainer.net, path, optimizer=trainer.optimizer, "
            "optimizer_state=trainer.state)"
        )
    state: dict[str, Any] = {
        "epoch": trainer.epoch,
        "rng": trainer.rng.bit_generator.state,
        "schedule": {
            "batch_size": trainer.schedule.batch_size,
            "shuffle": trainer.schedule.shuffle,
            "name": trainer.schedule.name,
            **({"bucket": True} if trainer.schedule.bucket else {}),
        },
        "l2": trainer.l2,
    }
    arrays: dict[str, np.ndarray] = {}
    split = getattr(trainer, "split", None)
    if split is not None:
        n = int(split["n"])
        state["split"] = {"n": n, "fraction": float(split["fraction"])}
        index = np.asarray(backend.to_numpy(split["val_index"]))
        if index.dtype.kind not in "iu":
            raise ValueError(f"trainer.split['val_index'] must hold integers, not {index.dtype}")
        arrays[split_key] = check_split_index("trainer.split", index, n)
    progress = getattr(trainer, "progress", None)
    if progress is not None:
        state["progress"] = check_progress("trainer.progress", progress)
    best = getattr(trainer, "best_params", None)
    if best is not None:
        arrays[best_key] = np.asarray(backend.to_numpy(best))
    return state, arrays
