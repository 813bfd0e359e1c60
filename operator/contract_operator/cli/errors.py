"""The error that means "you called me wrong": main() prints it in one line and exits 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad arguments that argparse cannot see (e.g. an invalid regex, a port of 9090.7)."""
