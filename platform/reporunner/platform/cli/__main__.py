"""``python -m reporunner.platform.cli``: the ``reporunner`` script without installing it."""

import sys

from reporunner.platform.cli import main

sys.exit(main())
