"""Options of ``edge-bridge config`` (each also ``EDGE_BRIDGE_<OPTION>``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bridge.settings import (
    CommonSettings,
    HostPort,
    IPNetwork,
    allow_option,
    boolean,
    byte_size,
    credentials,
    duration,
    host_port,
    non_negative_float,
    option,
    positive_float,
    router_option,
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


def read_credentials_file(path: str) -> list[str]:
    """The ``user:password`` lines of a file (blank lines and ``#`` comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None
    pairs = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not pairs or any(":" not in pair for pair in pairs):
        raise ValueError("expected user:password lines")
    return pairs


def credentials_file(text: str) -> str:
    """A readable file of credentials, checked at start so a typo stops the daemon there."""
    if text:
        read_credentials_file(text)
    return text


@dataclass(frozen=True)
class ConfigSettings(CommonSettings):
    """Receive router config uploads, keep every version, redact secrets, report drift."""

    listen: HostPort = option(
        HostPort("0.0.0.0", 8080),
        parse=host_port,
        help="HTTP listen address for uploads, the read API and GET /healthz",
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
    unsaved_grace: float = option(
        3600.0,
        parse=non_negative_float,
        help="seconds a router's running config may differ from its startup config before "
        "the unsaved metric says so",
    )
    max_body: int = option(
        16 * 1024 * 1024,
        parse=byte_size,
        help="largest upload accepted, before and after gzip decompression",
    )
    allow: tuple[IPNetwork, ...] = allow_option(
        "source networks allowed to connect (repeat; none = everyone)"
    )
    router: tuple[tuple[str, str], ...] = router_option(
        "name for uploads from IP when neither the request nor the config names it"
    )
    basic_auth_file: str = option(
        "",
        parse=credentials_file,
        metavar="FILE",
        help="file of user:password lines; when set (or --basic-auth), HTTP Basic auth is "
        "required for every request but /healthz",
    )
    basic_auth: str = option(
        "",
        parse=credentials,
        secret=True,
        metavar="USER:PASSWORD",
        help="one user:password accepted besides the file's (prefer the variable to the flag)",
    )
    allow_unredacted: bool = option(
        False,
        parse=boolean,
        help="let authenticated clients read a stored version unredacted with ?redacted=0",
    )
    rate_limit: float = option(
        10.0,
        parse=non_negative_float,
        help="uploads per second per source address (an Oxidized host counts as one), "
        "0 = unlimited",
    )
    rate_burst: float = option(
        200.0, parse=positive_float, help="uploads a source may send at once above --rate-limit"
    )
    evidence_log_group: tuple[str, ...] = option(
        (),
        repeat=True,
        metavar="NAME",
        help="CloudWatch log group of the syslog and NTP daemons, whose evidence the page at / "
        "shows beside the config verdicts (repeat; none = those verdicts are unknown)",
    )
    max_silence: float = option(
        86400.0,
        parse=duration,
        help="the page at / fails 10.3.3 for a router without a log message for this long",
    )
