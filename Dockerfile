# One image for the three edge-bridge daemons; the command picks the daemon:
#   docker run --read-only --tmpfs /tmp edge-bridge syslog|ntp|config|all|simulate-router
# Listens on high ports only (5514 udp+tcp, 10123 udp, 8080 tcp; health 8514 and 8123): the
# process is not root, and Fargate cannot grant CAP_NET_BIND_SERVICE. The NLB (or a published
# port) maps 514, 123 and 80 onto them.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# -- builder: turn the source into wheels (the package and every dependency) ---------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bridge/ bridge/
COPY syslog_receiver/ syslog_receiver/
COPY ntp_proxy/ ntp_proxy/
COPY config_uploader/ config_uploader/
RUN pip wheel --wheel-dir /wheels .

# -- final: the wheels installed, nothing to build with, nothing to write ------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="edge-bridge" \
      org.opencontainers.image.description="Syslog receiver, NTP proxy and config uploader for routers behind an AWS NLB" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EDGE_BRIDGE_HEALTHCHECK_URL=http://127.0.0.1:8514/healthz
# Install from the builder's wheels only (no index), then drop the installers: the running
# image needs neither pip nor setuptools, and what is not there cannot be abused.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels /wheels/edge_bridge-*.whl \
    && pip uninstall --yes pip setuptools wheel \
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
