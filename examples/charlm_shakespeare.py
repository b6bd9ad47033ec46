"""Character-level language model on Tiny Shakespeare: a 1-layer LSTM with 256 hidden units,
truncated BPTT over 100 characters, Adam + gradient clipping, for a fixed time budget.

The acceptance run of issue 4: held-out loss ≤ 1.60 nats per character within 15 minutes on a
2-core machine. The held-out set is the last 10 % of the text. Prints the curve (held-out loss
against seconds) and writes it to ``charlm_curve.json``, saves the model, and prints a sample.

Run::

    python examples/charlm_shakespeare.py [--data ../shared/data/tinyshakespeare.txt]
        [--minutes 15] [--out charlm.bprop]
"""

from __future__ import annotations

import argparse
import json
import time

from bprop.tasks import sample, save_lm, train_lm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/tinyshakespeare.txt")
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--k1", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--out", default="charlm.bprop")
    ap.add_argument("--curve", default="charlm_curve.json")
    args = ap.parse_args()

    t0 = time.perf_counter()
    lm = train_lm(
        args.data,
        hidden=args.hidden,
        k1=args.k1,
        batch_size=args.batch,
        lr=args.lr,
        clip_norm=5.0,
        epochs=1000,
        max_seconds=60 * args.minutes,
        eval_every=args.eval_every,
        verbose=1,
    )
    total = time.perf_counter() - t0
    h = lm.history
    print(f"\nheld-out loss {lm.val_loss:.4f} nats/char, perplexity {lm.perplexity:.3f}")
    print(
        f"{h.updates} updates, {h.updates * args.batch * args.k1 / 1e6:.1f} M characters, "
        f"{total:.0f} s in all ({h.stopped_because})"
    )
    with open(args.curve, "w") as fh:
        json.dump(
            {
                "seconds": h.val_seconds,
                "updates": h.val_updates,
                "val_loss": h.val_loss,
                "final_val_loss": lm.val_loss,
                "total_seconds": total,
            },
            fh,
            indent=1,
        )
    save_lm(lm, args.out)
    # prime after a blank line: the model rarely met a zero state mid-text during training
    print(sample(lm, length=500, temperature=0.8, prime="\n\nROMEO:"))


if __name__ == "__main__":
    main()
