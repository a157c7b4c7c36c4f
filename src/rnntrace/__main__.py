"""`python -m rnntrace`, so that `torchrun -m rnntrace train ...` works."""

import sys

from rnntrace.cli.main import main

sys.exit(main())
