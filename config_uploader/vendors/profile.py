"""What the project knows about one router family, declared in one place.

Each module of this package builds one :class:`Profile`; the engines (``vendor.detect``,
``normalise``, ``identity.from_config``, ``redact``) read them all from :data:`PROFILES
<config_uploader.vendors.PROFILES>` and hold no vendor knowledge of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.secrets import Rule


@dataclass(frozen=True, slots=True)
class Profile:
    """One family. Every pattern is a regular expression matched at a line start.

    * ``decisive``: lines only this family writes (banners, export headers); one match among
      the first lines of a config decides.
    * ``hints``: characteristic commands, each worth a point; the clear winner is detected.
    * ``volatile``: whole lines that change without any change of configuration (report
      times, byte counts); normalising drops them.
    * ``rewrites``: ``(pattern, replacement)``: lines kept with their volatile part cut.
    * ``hostname``: where the router names itself: patterns with a ``name`` group, tried in
      order; with an ``indent`` group, the least indented match wins.
    * ``secrets``: rules for this family's secrets that no keyword announces (positional
      arguments, section-scoped names, a value on the line below its name: ``Rule.after``).
      They add to the vendor-independent rules of ``bridge.secrets``, which always run, and
      to every other family's rules.
    * ``continued_lines``: a ``\\`` at a line end continues the line (RouterOS exports).
    """

    name: str
    decisive: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    volatile: tuple[str, ...] = ()
    rewrites: tuple[tuple[str, str], ...] = ()
    hostname: tuple[str, ...] = ()
    secrets: tuple[Rule, ...] = ()
    continued_lines: bool = False
