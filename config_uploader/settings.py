"""Options of ``edge-bridge config`` (each also ``EDGE_BRIDGE_<OPTION>``)."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.settings import (
    CommonSettings,
    HostPort,
    IPNetwork,
    address,
    allow_option,
    burst,
    count,
    credentials,
    inventory_option,
    option,
    per_second,
    router_option,
    seconds,
    seconds_or_off,
    size,
    switch,
)
from config_uploader.compliance.rules import Rules, load_rules
from config_uploader.store import parse_s3_url
from config_uploader.vendor import VENDORS

DEFAULT_STORE = "config-store"


def location(text: str) -> str:
    """A local directory or ``s3://BUCKET/PREFIX``; an S3 URL without a bucket is an error."""
    text = text.strip()
    if not text:
        raise ValueError("empty location")
    if text.startswith("s3:"):
        parse_s3_url(text)
    return text


def optional_location(text: str) -> str:
    return location(text) if text.strip() else ""


def compliance_rules(text: str) -> Rules | None:
    """The rules file, read and checked at start: a mistake stops the daemon there."""
    return load_rules(text.strip(), VENDORS) if text.strip() else None


@dataclass(frozen=True)
class ConfigSettings(CommonSettings):
    """Receive router config uploads, keep every version, redact secrets, report drift."""

    listen: HostPort = address(
        HostPort("0.0.0.0", 8080),
        "HTTP listen address for uploads, the read API and GET /healthz",
    )
    store: str = option(
        DEFAULT_STORE,
        parse=location,
        metavar="DIR|s3://BUCKET/PREFIX",
        help="where versions are kept; a relative DIR is relative to the working directory",
    )
    desired: str = option(
        "",
        parse=optional_location,
        metavar="DIR|s3://BUCKET/PREFIX",
        help="intended configs, one file per router (<router>, <router>.conf, .cfg or .txt); "
        "unset = no drift check",
    )
    compliance: Rules | None = option(
        None,
        parse=compliance_rules,
        metavar="FILE",
        help="YAML rules of the features to judge per vendor against the desired config "
        "(deploy/compliance/pci.yaml); unset = no compliance verdicts",
    )
    unsaved_grace: float = seconds_or_off(
        3600.0,
        "seconds a router's running config may differ from its startup config before "
        "the unsaved metric says so; 0 = no grace, overdue at once",
    )
    max_body: int = size(
        16 * 1024 * 1024,
        "largest request body accepted, and the most config bytes one request may "
        "decode to (gzip undone, all multipart parts together)",
    )
    max_lines: int = count(200_000, "most lines one uploaded config may have")
    max_line_length: int = size(64 * 1024, "longest line an uploaded config may have")
    max_pending: int = size(
        64 * 1024 * 1024, "request body bytes held at once across all uploads; past it, 503"
    )
    header_timeout: float = seconds(
        10.0,
        "seconds a connection may take to send a request head (also the idle time allowed "
        "between requests)",
    )
    body_timeout: float = seconds(60.0, "seconds a request may take to send its body")
    max_connections: int = count(512, "open HTTP connections in total; more are closed at once")
    max_connections_per_address: int = count(32, "open HTTP connections per source address")
    allow: tuple[IPNetwork, ...] = allow_option(
        "source networks allowed to connect (repeat; none = everyone)"
    )
    router: tuple[tuple[str, str], ...] = router_option(
        "the router at IP: its uploads are filed under NAME and may not claim another name"
    )
    inventory: str = inventory_option()
    basic_auth_file: str = option(
        "",
        metavar="FILE",
        help="uploader (collector) credentials, user:HASH lines (edge-bridge credentials "
        "hash); any credential turns HTTP Basic auth on for every request but /healthz",
    )
    basic_auth: str = option(
        "",
        parse=credentials,
        secret=True,
        metavar="USER:PASSWORD",
        help="one uploader credential besides the file's, hashed at start (prefer the "
        "variable to the flag)",
    )
    reader_auth_file: str = option(
        "",
        metavar="FILE",
        help="reader (auditor) credentials, user:HASH lines: the read API takes only these",
    )
    reader_auth: str = option(
        "",
        parse=credentials,
        secret=True,
        metavar="USER:PASSWORD",
        help="one reader credential besides the file's, hashed at start",
    )
    allow_unredacted: bool = switch("let readers read a stored version unredacted with ?redacted=0")
    rate_limit: float = per_second(
        10.0,
        "uploads per second per source address (an Oxidized host counts as one), 0 = unlimited",
    )
    rate_burst: float = burst(200.0, "uploads a source may send at once above --rate-limit")
    read_rate_limit: float = per_second(
        20.0, "read API requests per second per source address, 0 = unlimited"
    )
    read_rate_burst: float = burst(100.0, "reads a source may send at once above the limit")
    auth_failure_rate: float = per_second(
        0.2,
        "failed logins per second per source address; past the burst the address gets 429 "
        "without its password being checked, 0 = unlimited",
    )
    auth_failure_burst: float = burst(20.0, "failed logins a source may make before the limit")
    stale_after: float = seconds(
        25 * 3600.0,
        "a router of the inventory or of --desired without an upload for this long is "
        "reported by config.stale",
    )
    evidence_log_group: tuple[str, ...] = option(
        (),
        repeat=True,
        metavar="NAME",
        help="CloudWatch log group of the syslog and NTP daemons, whose evidence the page at / "
        "shows beside the config verdicts (repeat; none = those verdicts are unknown)",
    )
    max_silence: float = seconds(
        86400.0,
        "the page at / fails 10.3.3 for a router without a log message for this long",
    )
