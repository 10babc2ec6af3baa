"""``python -m mer_contrast`` runs the console script."""

import sys

from mer_contrast.cli.main import main

sys.exit(main())
