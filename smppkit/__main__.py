"""`python -m smppkit ...` is the same as the `smppkit` command."""

import sys

from smppkit.cli import main

sys.exit(main())
