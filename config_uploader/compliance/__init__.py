"""Verdicts an assessor can sign, computed from uploaded configs without any I/O.

PCI DSS v4.0 1.2.8 asks that configuration files be kept consistent with the active
configuration, and 1.2.1/1.2.7 that configuration standards be implemented and reviewed. Each
module here answers one part, from texts passed in (the service owns the store, the clock and
stdout):

* :mod:`.kind`: is an upload the running or the startup (saved) configuration;
* :mod:`.saved`: do the latest running and startup configurations agree (1.2.8);
* :mod:`.tree`: a config as ordered lines, each with the section headers above it;
* :mod:`.rules`: the ``--compliance`` YAML file of features per vendor;
* :mod:`.features`: per feature, compliant or the missing and extra lines (1.2.1, 1.2.7);
* :mod:`.remediate`: the commands that would bring a router to its desired config.
"""
