"""The seeds' applications, as plain Python entry points the ``bprop`` command calls.

They sit above the core (layers, cells, update rules, the training loops) and use it as a user
would; nothing in the core imports them.

- Language models (:mod:`bprop.tasks.language`): :func:`train_lm`, :func:`evaluate_lm`,
  :func:`sample`, :func:`save_lm`, :func:`load_lm` — a character- or word-level model on any
  text file, trained with truncated BPTT; held-out loss per token (nats) and perplexity.
- Sequence tasks (:mod:`bprop.tasks.sequences`): :func:`train_adding` (sequence-to-one
  regression on the adding problem), :func:`train_reber` (next symbol of the embedded Reber
  grammar), :func:`train_forecast` (one-step-ahead forecasting of a series, against the
  persistence baseline ŷ_{t+1} = y_t).
- Text categorisation (:mod:`bprop.tasks.names`): :func:`train_name_language`, which language
  a name comes from, read character by character (Faker's per-locale names), against a
  character n-gram logistic regression; :func:`predict_names`.
- Almeida–Pineda (:mod:`bprop.tasks.settling`): :func:`pattern_completion` (an associative
  memory restores corrupted patterns) and :func:`settling_xor`.
- Real-time recurrent learning (:mod:`bprop.tasks.temporal_xor`): :func:`temporal_xor`,
  Elman's temporal XOR learned online one bit at a time.

Each task function takes plain arguments and returns a result object or a JSON-serialisable
dict. :data:`TASKS` (:mod:`bprop.tasks.table`) lists them as entries — name, one line of help,
the options each takes with its defaults, and how to run it — from which ``bprop train
--task NAME`` is built.

Example::

    >>> import tempfile, pathlib
    >>> from bprop.tasks import train_lm, sample
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "abc.txt"
    >>> _ = path.write_text("abcabcabcabc" * 50)
    >>> lm = train_lm(path, hidden=16, k1=10, batch_size=4, epochs=3, lr=0.02, verbose=0)
    >>> lm.val_loss < 0.2
    True
    >>> sample(lm, length=6, temperature=0.1, prime="ab")
    'abcabcab'
"""

from bprop.tasks.language import LanguageModel, evaluate_lm, load_lm, sample, save_lm, train_lm
from bprop.tasks.models import sequence_model, training_rule
from bprop.tasks.names import predict_names, train_name_language
from bprop.tasks.sequences import train_adding, train_forecast, train_reber
from bprop.tasks.settling import pattern_completion, settling_xor
from bprop.tasks.table import ARGS, TASKS, Arg, Options, Task
from bprop.tasks.temporal_xor import temporal_xor, xor_stream

__all__ = [
    "ARGS",
    "TASKS",
    "Arg",
    "Options",
    "Task",
    "LanguageModel",
    "evaluate_lm",
    "load_lm",
    "pattern_completion",
    "predict_names",
    "sample",
    "save_lm",
    "sequence_model",
    "settling_xor",
    "temporal_xor",
    "train_adding",
    "train_forecast",
    "train_lm",
    "train_name_language",
    "train_reber",
    "training_rule",
    "xor_stream",
]
