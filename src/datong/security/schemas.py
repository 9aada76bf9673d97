"""Request and response models of the identity and audit API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class DepartmentIn(BaseModel):
    code: str = Field(description="Unified social credit code (GB 32100)", examples=["113300000020000120"])
    name: str = Field(min_length=1, max_length=200)
    short_name: str | None = Field(default=None, max_length=50)
    parent_code: str | None = None


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    short_name: str | None
    parent_code: str | None = None
    is_active: bool = True
    created_at: datetime

    @classmethod
    def of(cls, department) -> DepartmentOut:
        out = cls.model_validate(department)
        out.parent_code = department.parent.code if department.parent else None
        return out


class UserIn(BaseModel):
    username: str
    display_name: str = ""
    department_code: str
    roles: list[str] = Field(default_factory=list)
    password: str = Field(min_length=1, repr=False)


class UserOut(BaseModel):
    username: str
    display_name: str
    department_code: str
    roles: list[str]
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None = None

    @classmethod
    def of(cls, user) -> UserOut:
        return cls(
            username=user.username, display_name=user.display_name,
            department_code=user.department.code, roles=user.roles, is_active=user.is_active,
            created_at=user.created_at, last_login_at=user.last_login_at, locked_until=user.locked_until,
        )


class ClientIn(BaseModel):
    department_code: str
    name: str = Field(min_length=1, max_length=200)


class ClientOut(BaseModel):
    client_id: str
    name: str
    department_code: str
    is_active: bool
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, client) -> ClientOut:
        return cls(
            client_id=client.client_id, name=client.name, department_code=client.department.code,
            is_active=client.is_active, created_at=client.created_at, created_by=client.created_by,
        )


class ClientCreated(ClientOut):
    client_secret: str = Field(description="Shown once; only its hash is stored.")


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    occurred_at: datetime
    actor: str
    actor_department: str | None
    action: str
    target: str | None
    subjects: list[str]
    purpose: str | None
    case_number: str | None
    outcome: str
    detail: dict
    algorithm: str
    prev_hash: str
    hash: str
