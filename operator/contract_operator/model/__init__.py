"""The contract model and the one parser every call site uses: CLI, operator boot, re-validation."""

from contract_operator.model.contract import (
    Contract,
    ContractError,
    ContractSpec,
    EventBus,
    FieldError,
    PublishTopic,
)
from contract_operator.model.loader import LoadResult, load_objects, load_paths

__all__ = [
    "Contract",
    "ContractError",
    "ContractSpec",
    "EventBus",
    "FieldError",
    "LoadResult",
    "PublishTopic",
    "load_objects",
    "load_paths",
]
