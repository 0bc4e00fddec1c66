"""``python -m tokenomy`` runs the command line."""

import sys

from tokenomy.cli import main

sys.exit(main())
