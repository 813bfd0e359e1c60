# syntax=docker/dockerfile:1
# contract-operator image: `make image` (docker or podman; it fills build/wheels first).
#
# BASE is any image with Python 3.11+ and its venv module: python:3.11-slim by default;
# hack/image.sh passes a Debian bookworm base made locally when there is no registry.
ARG BASE=python:3.11-slim

# Build stage: the project and its runtime dependencies in a virtualenv; no test extras. The
# wheels come from build/wheels (hack/image.sh fills it with `pip wheel .` on the host), so the
# build needs no network and installs exactly what the host resolved.
FROM ${BASE} AS build
COPY build/wheels /wheels
RUN python3 -m venv /opt/contract-operator \
 && /opt/contract-operator/bin/pip install --no-cache-dir --no-index --find-links /wheels \
      contract-operator \
 # The root filesystem is read-only in the pod: compile bytecode now, drop what runs never.
 && /opt/contract-operator/bin/python -m compileall -q /opt/contract-operator \
 && /opt/contract-operator/bin/pip uninstall -y -q pip \
 && rm -rf /opt/contract-operator/share

# Runtime stage: the virtualenv only; no build tools, no sources.
FROM ${BASE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/contract-operator/bin:$PATH
COPY --from=build /opt/contract-operator /opt/contract-operator
# 65532 is the conventional "nonroot" uid; the Helm chart's securityContext expects it.
USER 65532:65532
EXPOSE 8080 9090 9443
ENTRYPOINT ["contract-operator"]
CMD ["run"]
