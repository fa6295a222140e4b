"""`python -m somafeedback.cli …`: the same commands as the `somafeedback` console script's."""

import sys

from .main import main

sys.exit(main())
