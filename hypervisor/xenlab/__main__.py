"""Entry point of `hypervisor/lab`: python3 -m xenlab."""

import sys

from xenlab.cli import main

sys.exit(main())
