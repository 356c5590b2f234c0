"""The dependency rule of the design, read from the imports of every module.

Daemons import ``bridge/``; ``bridge/`` imports no daemon except its face (the CLI that dispatches
subcommands, the router simulator and the report), which sits above all three; no daemon imports
another; the product imports neither ``tests/`` nor ``bench/``, and ``bench/`` does not import
``tests/``. Imports inside functions count too, and so does ``importlib.import_module`` with a
literal name: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAEMONS = {"syslog_receiver", "ntp_proxy", "config_uploader"}
OUTSIDE = {"tests", "bench"}
# bridge's face: the modules (or packages) that sit above all three daemons.
FACE = ("bridge.cli", "bridge.simulate", "bridge.report")


def forbidden_for(importer: str) -> set[str]:
    """The top-level packages that module `importer` may not import."""
    top = importer.split(".")[0]
    if top in DAEMONS:
        return (DAEMONS - {top}) | OUTSIDE
    if top == "bridge":
        face = any(importer == f or importer.startswith(f + ".") for f in FACE)
        return OUTSIDE if face else DAEMONS | OUTSIDE
    if top == "bench":
        return {"tests"}
    return set()


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved against its package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            for alias in node.names:  # `from bridge import cli` imports bridge.cli, maybe
                yield node.lineno, f"{module}.{alias.name}" if module else alias.name
        elif isinstance(node, ast.Call) and _is_import_call(node):
            yield node.lineno, str(node.args[0].value)  # type: ignore[attr-defined]


def _is_import_call(node: ast.Call) -> bool:
    """importlib.import_module("name") or __import__("name") with a literal name."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return (
        name in {"import_module", "__import__"}
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def violations(root: Path = ROOT) -> list[str]:
    """One line per import that breaks the rule: where, who, what."""
    found = []
    for top in sorted(DAEMONS | {"bridge", "bench"}):
        for path in sorted((root / top).rglob("*.py")):
            importer = module_name(path, root)
            forbidden = forbidden_for(importer)
            for line, module in imports(path, root):
                if module.split(".")[0] in forbidden:
                    found.append(f"{path.relative_to(root)}:{line}: {importer} imports {module}")
    return found


def test_the_dependency_rule_holds() -> None:
    assert violations() == []


def test_each_way_of_breaking_the_rule_is_caught(tmp_path: Path) -> None:
    """The reader itself, on a planted tree: every kind of import is seen, the face is allowed."""
    files = {
        "bridge/__init__.py": "",
        "bridge/cli.py": "import syslog_receiver.main\nfrom ntp_proxy import check\n",
        "bridge/report/__init__.py": "from config_uploader.store import Store\n",
        "bridge/settings.py": "def f():\n    from ntp_proxy.poller import cancel\n",
        "bridge/logging.py": "import importlib\nimportlib.import_module('config_uploader.app')\n",
        "syslog_receiver/__init__.py": "",
        "syslog_receiver/render.py": "from . import record\nfrom bridge import output\n",
        "syslog_receiver/sub/x.py": "from ..render import y\nfrom ... import config_uploader\n",
        "ntp_proxy/relay.py": "import syslog_receiver\n",
        "config_uploader/app.py": "from tests.procs import Daemon\n",
        "bench/ntp.py": "from tests.procs import Daemon\nimport bench.launch\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert violations(tmp_path) == [
        "bench/ntp.py:1: bench.ntp imports tests.procs.Daemon",
        "bridge/logging.py:2: bridge.logging imports config_uploader.app",
        "bridge/settings.py:2: bridge.settings imports ntp_proxy.poller.cancel",
        "config_uploader/app.py:1: config_uploader.app imports tests.procs.Daemon",
        "ntp_proxy/relay.py:1: ntp_proxy.relay imports syslog_receiver",
        "syslog_receiver/sub/x.py:2: syslog_receiver.sub.x imports config_uploader",
    ]
