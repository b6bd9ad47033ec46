"""``python -m bprop.cli …`` runs the ``bprop`` command."""

import sys

from bprop.cli import main

sys.exit(main())
