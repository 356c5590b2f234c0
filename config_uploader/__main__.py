"""``python -m config_uploader``: the same as ``edge-bridge config``."""

import sys

from config_uploader.main import main

raise SystemExit(main(sys.argv[1:]))
