"""podman for the container tests: a stand-in base image, the project's images, containers.

No image registry is reachable from here, so the Dockerfiles' base images are replaced by one
built from Debian packages with mmdebstrap (python3 with its venv module, the CA bundle that
pip needs to reach the package index from inside a build, chrony for the compose file's
stand-in of the Amazon Time Sync Service) and given to them as build arguments. podman runs as
root with runc and cgroupfs (this kernel runs cgroups in hybrid mode, which crun refuses) and
ulimits no higher than the session's: CONTAINERS_CONF points at such a file
(/etc/containers/containers.conf holds the same, written by .ci/run).

Builds are cached: the base image is tagged with a hash of its recipe, the project's images
with a hash of their build context, and a file lock makes parallel test workers wait for one
build instead of running two. A run that changes no source builds nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.artefacts import ROOT, context_files
from tests.peers import peer

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "chrony")
BASE_REPOSITORY = "localhost/edge-bridge-test-base"
IMAGE_REPOSITORY = "localhost/edge-bridge-test"
UPSTREAM_REPOSITORY = "localhost/edge-bridge-test-upstream-ntp"
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
"""
_STATE = Path(tempfile.gettempdir()) / "edge-bridge-podman"
BUILD_SECONDS = 1200.0


def env() -> dict[str, str]:
    """The environment for podman and podman-compose: our containers.conf, no proxy surprises."""
    _STATE.mkdir(exist_ok=True)
    conf = _STATE / "containers.conf"
    if not conf.exists() or conf.read_text() != CONTAINERS_CONF:
        conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman(*args: str, timeout: float = 120.0, check: bool = True) -> str:
    """Run podman; its stdout, or a failure that shows what podman said."""
    result = subprocess.run(
        [peer("podman", "podman"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {result.returncode}\n{result.stderr}")
    return result.stdout


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One build at a time across the test workers (and concurrent runs on this machine)."""
    _STATE.mkdir(exist_ok=True)
    with (_STATE / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _exists(tag: str) -> bool:
    return (
        subprocess.run(
            [peer("podman", "podman"), "image", "exists", tag], env=env(), check=False
        ).returncode
        == 0
    )


def _digest(parts: Sequence[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def base_image() -> str:
    """The Debian stand-in for the Dockerfiles' python and debian base images."""
    recipe = [b"bookworm", ",".join(BASE_PACKAGES).encode(), CA_BUNDLE.read_bytes()]
    tag = f"{BASE_REPOSITORY}:{_digest(recipe)}"
    with build_lock():
        if _exists(tag):
            return tag
        mmdebstrap = peer("mmdebstrap", "mmdebstrap")
        with tempfile.TemporaryDirectory() as work:
            tarball = Path(work) / "base.tar"
            subprocess.run(
                [
                    mmdebstrap,
                    "--quiet",
                    "--variant=minbase",
                    f"--include={','.join(BASE_PACKAGES)}",
                    # pip inside a build reaches the index only through this machine's CA bundle
                    f"--customize-hook=copy-in {CA_BUNDLE} /etc/ssl/certs",
                    "bookworm",
                    str(tarball),
                ],
                check=True,
                timeout=BUILD_SECONDS,
                capture_output=True,
            )
            podman(
                "import",
                f"--change=ENV PIP_CERT={CA_BUNDLE}",
                f"--change=ENV SSL_CERT_FILE={CA_BUNDLE}",
                str(tarball),
                tag,
                timeout=BUILD_SECONDS,
            )
    return tag


def _build(repository: str, context: Path, files: list[Path], *build_args: str) -> str:
    tag = f"{repository}:{_digest([p.as_posix().encode() + p.read_bytes() for p in files])}"
    with build_lock():
        if not _exists(tag):
            podman(
                "build",
                "--network=host",
                "--format=docker",  # keeps HEALTHCHECK in the image
                "--layers",
                *(f"--build-arg={arg}" for arg in build_args),
                f"--tag={tag}",
                str(context),
                timeout=BUILD_SECONDS,
            )
            _forget_older(repository, tag)
    return tag


def _forget_older(repository: str, keep: str) -> None:
    """Earlier builds of this repository go (those in use stay), so runs do not pile up."""
    for line in podman("images", "--format", "{{.Repository}}:{{.Tag}}", check=False).split():
        if line.startswith(repository + ":") and line != keep:
            podman("rmi", line, check=False)
    podman("image", "prune", "--force", check=False)


def project_image() -> str:
    """The project's Dockerfile, built on the stand-in base."""
    files = [ROOT / "Dockerfile", *context_files(ROOT)]
    return _build(IMAGE_REPOSITORY, ROOT, files, f"PYTHON_IMAGE={base_image()}")


def upstream_image() -> str:
    """deploy/chrony: the compose file's stand-in for the Time Sync Service."""
    context = ROOT / "deploy" / "chrony"
    files = sorted(p for p in context.iterdir() if p.is_file())
    return _build(UPSTREAM_REPOSITORY, context, files, f"DEBIAN_IMAGE={base_image()}")


def logs(container: str) -> list[dict[str, Any]]:
    """A container's stdout as JSON lines (other lines kept as text)."""
    lines = []
    for raw in podman("logs", container, check=False).splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            line = {"event": "_not_json", "text": raw}
        lines.append(line if isinstance(line, dict) else {"event": "_not_json", "text": raw})
    return lines


def have_podman_stack() -> None:
    """podman, podman-compose and mmdebstrap, or a skip (a failure in CI)."""
    for program, package in (
        ("podman", "podman"),
        ("runc", "runc"),
        ("podman-compose", "podman-compose"),
        ("mmdebstrap", "mmdebstrap"),
    ):
        peer(program, package)
    assert CA_BUNDLE.exists(), f"{CA_BUNDLE}: pip inside a build needs the CA bundle"
    assert shutil.which("catatonit") or Path("/usr/libexec/podman/catatonit").exists()
