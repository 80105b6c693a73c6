"""``python -m maple_bench`` runs the ``maple-bench`` command."""

import sys

from maple_bench.cli import main

sys.exit(main())
