"""The problem vocabulary lives with the parser (model/problems.py); re-exported for core users."""

from contract_operator.model.problems import Problem, Severity

__all__ = ["Problem", "Severity"]
