import sys

from ntp_proxy.main import main

sys.exit(main(sys.argv[1:]))
