"""I/O shells around the pure core: the broker (create-only) and the Kubernetes API."""
