"""``python -m bprop.demo [OUT_DIR]``: the tour of every type of backpropagation."""

import sys

from bprop.demo import OUT_DIR, main

main(*(sys.argv[1:2] or [OUT_DIR]))
