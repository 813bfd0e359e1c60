"""What the `nodecontracts` index holds per NodeContract: the contract parsed once, when the
watch delivers it, and the status to compare with — not the whole kopf body."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..model.contract import Contract, ContractError

log = logging.getLogger("contract_operator.controller.reconciler")


@dataclass(frozen=True)
class Record:
    """One NodeContract as the watch last delivered it, parsed once by the index handler."""

    namespace: str
    name: str
    uid: str | None
    generation: int | None
    status: Mapping[str, Any] | None
    contract: Contract | None
    error: str | None = None
    # False for a contract outside this instance's --selector: kept in the index (without a
    # parsed spec) only so that one that stops matching is told apart from one deleted.
    selected: bool = True

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def ref(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name, "uid": self.uid or ""}


def _identity(body: Mapping[str, Any]) -> tuple[Mapping[str, Any], str, str]:
    meta = body.get("metadata") or {}
    return meta, str(meta.get("namespace", "")), str(meta.get("name", ""))


def unselected_record_of(body: Mapping[str, Any]) -> Record:
    """A contract another instance manages (outside --selector): its identity, nothing else."""
    meta, namespace, name = _identity(body)
    return Record(namespace, name, meta.get("uid"), None, None, None, selected=False)


def record_of(body: Mapping[str, Any]) -> Record:
    """Parse a NodeContract body with the one parser; a bad spec becomes a Record with an error.

    Never raises: whatever a user stored in the object ends up in that object's status.
    """
    meta, namespace, name = _identity(body)
    status = body.get("status")
    contract: Contract | None = None
    error: str | None = None
    try:
        contract = Contract.from_manifest(dict(body), source=f"{namespace}/{name}")
    except ContractError as exc:
        error = "; ".join(f"{e.field or 'document'}: {e.message}" for e in exc.errors)
    except Exception as exc:  # the parser's own bug must not cost the whole index
        log.exception("cannot parse NodeContract %s/%s", namespace, name)
        error = f"the operator could not read this contract ({type(exc).__name__}: {exc})"
    return Record(
        namespace,
        name,
        meta.get("uid"),
        meta.get("generation"),
        dict(status) if isinstance(status, Mapping) else None,
        contract,
        error,
    )
