"""The model-file machinery behind :mod:`bprop.io`: safe atomic writing (:mod:`.atomic`), bounded
reading of the ZIP archive (:mod:`.archive`), and validation of the description and of the saved
training state (:mod:`.validate`)."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model file cannot be read (missing, corrupt, truncated, too large, or from an
    incompatible version) or cannot be written where it was asked to go."""


def one_line(err: BaseException, limit: int = 200) -> str:
    """An exception as one short line, ``Type: message``, for error messages."""
    text = " ".join(str(err).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
