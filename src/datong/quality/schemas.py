"""What the API says about quality."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class ScoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    load_id: int | None
    computed_at: datetime
    rows: int
    completeness: float
    validity: float
    uniqueness: float
    consistency: float
    timeliness: float
    overall: float


class IssueOut(BaseModel):
    id: int
    resource: str
    resource_name: str
    department: str
    rule: str
    item: str | None
    kind: str
    severity: str
    state: str
    failing: int
    samples: list[dict]
    opened_at: datetime
    deadline: date
    overdue: bool
    closed_at: datetime | None
    history: list[dict]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str = Field(pattern="^(rectifying|rechecking|closed|reopened)$")
    note: str = Field(default="", max_length=1000)


class ResourceQualityOut(BaseModel):
    resource: str
    latest: ScoreOut | None
    history: list[ScoreOut]
    open_issues: int


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(pattern="^(not_null|pattern|length|code_list|date_range)$")
    severity: str = Field(default="reject", pattern="^(reject|warn)$")
    params: dict = Field(default_factory=dict)
    element: str | None = None
    resource: str | None = None
    item: str | None = None


class DepartmentScoreOut(BaseModel):
    department: str
    name: str
    resources: int
    completeness: float
    validity: float
    uniqueness: float
    consistency: float
    timeliness: float
    overall: float
