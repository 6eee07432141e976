"""`python -m smppkit ...` is the same as the `smppkit` command."""

import sys

from .cli import main

sys.exit(main())
