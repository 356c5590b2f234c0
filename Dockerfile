# One image for the three edge-bridge daemons; the command picks the daemon:
#   docker run --read-only --tmpfs /tmp edge-bridge syslog|ntp|config|all|simulate-router
# Listens on high ports only (syslog 5514 udp+tcp, 10123 udp, 8080 tcp; health 8514 and 8123):
# the process is not root, and Fargate cannot grant CAP_NET_BIND_SERVICE. The NLB (or a
# published port) maps 514, 601, 123 and 80 onto them.
#
# PYTHON_IMAGE is any Debian-based image with python3 (and its venv module): the official one
# by default; the tests build from a Debian stand-in (tests/podman.py), since they reach no
# image registry.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# -- builder: a virtual environment with the locked dependencies and the package ----------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies from the lock only: every version pinned, every file's hash checked, wheels
# only (nothing compiled here). This layer changes only with the lock, and two builds of one
# commit install the same files (regenerate the lock with `make lock`).
COPY requirements.lock ./
RUN python3 -m venv /opt/edge-bridge \
    && /opt/edge-bridge/bin/pip install --require-hashes --only-binary=:all: --no-deps \
       -r requirements.lock
# The package itself, without dependencies (all are in the lock; pip check proves it), then
# the installers leave the environment: the running image can neither build nor fetch code.
COPY pyproject.toml README.md ./
COPY bridge/ bridge/
COPY syslog_receiver/ syslog_receiver/
COPY ntp_proxy/ ntp_proxy/
COPY config_uploader/ config_uploader/
RUN /opt/edge-bridge/bin/pip install --no-deps . \
    && /opt/edge-bridge/bin/pip check \
    && /opt/edge-bridge/bin/pip uninstall --yes pip setuptools

# -- final: the environment, a non-root user, nothing to build with, nothing to write -----
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="edge-bridge" \
      org.opencontainers.image.description="Syslog receiver, NTP proxy and config uploader for routers behind an AWS NLB" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/edge-bridge/bin:$PATH \
    EDGE_BRIDGE_HEALTHCHECK_URL=http://127.0.0.1:8514/healthz
COPY --from=builder /opt/edge-bridge /opt/edge-bridge
# The base's own installers go too where it has them (the official image has pip in
# /usr/local; the Debian stand-in has none).
RUN if python3 -m pip --version >/dev/null 2>&1; then \
        python3 -m pip uninstall --yes pip setuptools wheel; \
    fi \
    && groupadd --system --gid 10001 edge-bridge \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin edge-bridge \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/edge-bridge
# The shipped PCI DSS compliance rules, for --compliance /etc/edge-bridge/compliance/pci.yaml.
COPY deploy/compliance/ /etc/edge-bridge/compliance/
# The local config store (--store, relative to here) when no S3 bucket is given; with a
# read-only root filesystem this volume and a tmpfs on /tmp are the only writable places.
WORKDIR /var/lib/edge-bridge
VOLUME ["/var/lib/edge-bridge"]
USER 10001:10001
EXPOSE 5514/udp 5514/tcp 8514/tcp 10123/udp 8123/tcp 8080/tcp
# One health check for every daemon: `edge-bridge healthcheck` exits 1 unless the URL answers
# 200 (slim has no curl). The default is syslog's; the compose file and the task definitions
# give each daemon its own endpoint (ntp :8123, config :8080).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["edge-bridge", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["edge-bridge"]
CMD ["syslog"]
