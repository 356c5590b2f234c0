"""``python -m syslog_receiver``: the same as ``edge-bridge syslog``."""

import sys

from syslog_receiver.main import main

sys.exit(main(sys.argv[1:]))
