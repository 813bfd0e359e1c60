# syntax=docker/dockerfile:1
# contract-operator image: `docker build -t contract-operator .`

# Build stage: the project's wheel plus wheels of its runtime dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: only the installed wheels; no build tools, no sources, no test extras.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    # The root filesystem is read-only in the pod; bytecode is compiled at install time instead.
    PYTHONDONTWRITEBYTECODE=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels contract-operator
# 65532 is the conventional "nonroot" uid; the Helm chart's securityContext expects it.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["contract-operator"]
CMD ["run"]
