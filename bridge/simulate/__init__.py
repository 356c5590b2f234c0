"""``edge-bridge simulate-router``: behave like a router pointed at the suite, and count.

It sends syslog at a steady rate with bursts (a link flap is a storm of lines), asks for the
time now and then and checks the answer, and uploads its configuration, changing it every few
uploads so that diffs and drift appear. It works against ``edge-bridge all``, the compose
simulation or a real NLB, and tells what worked: the counts in its last line
(``simulate.summary``) are the router's side of the story, to compare with the daemons' side.

It speaks only the wire protocols, so it imports no daemon package. One module per channel
(``syslog`` with the lines of ``messages``, ``ntp``, ``upload``), ``channel`` for what they
share, ``router`` to run them, ``settings`` for the options.
"""

from bridge.simulate.messages import cisco_line, rfc5424_line
from bridge.simulate.router import main
from bridge.simulate.settings import SimulatorSettings
from bridge.simulate.upload import router_config

__all__ = ["SimulatorSettings", "cisco_line", "main", "rfc5424_line", "router_config"]
