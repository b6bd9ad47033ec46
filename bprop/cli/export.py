"""``bprop export MODEL OUT.onnx``: a saved model as an ONNX file (:func:`bprop.export_onnx`).

The input standardisation a model trained by ``bprop train`` keeps in its metadata goes into the
file, so the ONNX model takes the same raw features as ``bprop predict``. ``--lengths`` exports
a sequence model for padded batches of variable-length sequences (a second input ``lengths``).
"""

from __future__ import annotations

import argparse
from typing import Any

import bprop as bp
from bprop.cli.common import CLIError, check_out


def add_export_parser(sub: Any) -> None:
    """Register ``bprop export MODEL OUT`` (a saved model as an ONNX file) on ``sub``."""
    p = sub.add_parser("export", help="write a saved model as an ONNX file")
    p.add_argument("model", help="a model file written by `bprop train --out` or bp.save")
    p.add_argument("out", help="the ONNX file to write, e.g. model.onnx")
    p.add_argument(
        "--lengths",
        action="store_true",
        help="a variable-length sequence model: the file takes a second input `lengths` "
        "(int64, one per padded sequence)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> dict[str, Any]:
    """Write the model file ``args.model`` as ONNX to ``args.out`` (its input standardisation
    folded in when the file holds a scaler); returns what was written."""
    check_out(args.out, option="OUT")
    ck = bp.load_checkpoint(args.model)
    scaler = ck.metadata.get("scaler")
    try:
        written = bp.export_onnx(ck.net, args.out, scaler=scaler, lengths=args.lengths)
    except ImportError as err:
        raise CLIError(str(err)) from err
    except ValueError as err:
        raise CLIError(f"{args.model}: {err}") from err
    out = {"onnx": written, "inputs_standardised": bool(scaler)}
    return {**out, "lengths_input": True} if args.lengths else out
