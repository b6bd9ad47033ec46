"""``make demo``: a tour of every type of backpropagation, ending with one HTML report.

Run: ``python -m bprop.demo`` (``make demo`` does). In a few minutes on a 2-core machine it
trains, and puts in ``report/index.html`` (self-contained; open it in any browser):

1. **Static backpropagation, online / mini-batch / batch** — a 64-32-10 tanh network on the
   handwritten digits, plain gradient descent under each schedule, several seeds.
2. **Momentum and adaptive learning rates** — SGD, heavy-ball momentum, Nesterov, AdaGrad,
   RMSprop and Adam on mini-batches of digits; the bold driver on full batches.
3. **Resilient backpropagation and Quickprop** — Rprop+, Rprop−, iRprop+, iRprop− and Quickprop
   against batch gradient descent and momentum on Fahlman's 8-3-8 encoder, ten seeds each.
4. **LSTM: full vs truncated backpropagation through time** — a stream in which each bit must
   be recalled 6 steps later: full BPTT over 40-step sequences, and truncated BPTT(k1, k2) with
   k2 = 12 (longer than the lag: learns) and k2 = 3 (shorter: cannot learn the dependency).
5. **Almeida–Pineda recurrent backpropagation** — a settling network restores corrupted
   binary patterns (associative memory), and a fully recurrent settling network learns XOR.
6. **Real-time recurrent learning** — Elman's temporal XOR learned online, one bit at a time,
   with no unrolling.
7. **Gradient diagnostics** — per-layer gradient norms of a 10-layer sigmoid net (they vanish)
   and the same net with ReLU and He initialisation (they do not); ‖∂L/∂h_t‖ through time
   for an Elman network and an LSTM.

The comparison grids run in parallel processes through :func:`bprop.compare.run_grid`.
"""

from __future__ import annotations

import os
import time

import numpy as np

from bprop.demo.common import say
from bprop.demo.diagnostics import section_diagnostics
from bprop.demo.feedforward import section_adaptive, section_digits_schedules, section_rprop
from bprop.demo.recurrent import section_almeida_pineda, section_lstm_bptt, section_rtrl

#: where the report is written (``/report/`` is in .gitignore)
OUT_DIR = "report"


def main(out_dir: str = OUT_DIR, n_jobs: int = -1) -> str:
    """Run the tour and write ``out_dir/index.html``; returns its path."""
    from bprop.report import Report

    np.set_printoptions(precision=4)
    start = time.perf_counter()
    rep = Report(
        "bprop: a tour of every type of backpropagation",
        "Static backprop (online, mini-batch, batch), momentum and adaptive rates, Rprop and "
        "Quickprop, LSTM with full and truncated BPTT, Almeida–Pineda, RTRL, and gradient "
        "diagnostics — each trained here, on this machine.",
    )
    steps = [
        (
            "1/7 static backprop: online, mini-batch, batch on digits",
            section_digits_schedules,
            True,
        ),
        ("2/7 momentum and adaptive learning rates on digits", section_adaptive, True),
        ("3/7 Rprop (four variants) and Quickprop on the 8-3-8 encoder", section_rprop, True),
        ("4/7 LSTM: full vs truncated BPTT", section_lstm_bptt, False),
        ("5/7 Almeida-Pineda recurrent backpropagation", section_almeida_pineda, False),
        ("6/7 real-time recurrent learning (temporal XOR)", section_rtrl, False),
        ("7/7 gradient diagnostics", section_diagnostics, False),
    ]
    for title, fn, parallel in steps:
        t0 = time.perf_counter()
        say(f"\n== {title}")
        fn(rep, n_jobs) if parallel else fn(rep)
        say(f"   ({time.perf_counter() - t0:.1f} s)")
    total = time.perf_counter() - start
    rep.paragraph(f"The whole tour took {total:.0f} s.", cls="note")
    rep.reproduce({"out_dir": out_dir, "n_jobs": n_jobs}, "python -m bprop.demo  # or: make demo")
    path = rep.write(out_dir)
    say(f"\nDone in {total:.0f} s. Open the report:\n  {os.path.abspath(path)}")
    return path
