"""contract-operator: each node's contract is the single source of truth for its topics."""

__version__ = "0.1.0"
