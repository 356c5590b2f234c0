"""The syslog receiver: router syslog over UDP and TCP to one JSON line per message on stdout."""
