"""What the API says about loads."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class LoadOut(BaseModel):
    id: int
    resource: str
    actor: str
    source: str
    source_kind: str
    mode: str
    encoding: str | None
    status: str
    error: str | None = None
    read: int
    accepted: int
    rejected: int
    warned: int
    inserted: int
    updated: int
    deleted: int
    unchanged: int
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None

    @classmethod
    def of(cls, load, error: str | None = None) -> LoadOut:
        fields = {k: getattr(load, k) for k in cls.model_fields if k not in ("resource", "error")}
        return cls(resource=load.resource.code, error=error, **fields)


class RecordsIn(BaseModel):
    """Records pushed by a department's system, as JSON."""

    model_config = ConfigDict(extra="forbid")
    mode: str = Field(default="incremental", pattern="^(full|incremental)$")
    records: list[dict] = Field(min_length=1)
    allow_deletes: bool = False  # a full load may delete more than DATONG_FULL_LOAD_DELETE_SHARE


class ProblemOut(BaseModel):
    row: int
    column: str | None
    value: str | None
    rule: str
    severity: str
    reason: str
    original: dict | None = None  # the row as it was read: source column → value
