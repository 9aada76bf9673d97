"""Request and response models of the catalog API (also the shape of YAML/JSON catalogues)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from datong.catalog.vocab import (
    Category, DataType, KeyKind, OpenType, Registry, Sensitivity, SharingMethod, SharingType, UpdateCycle,
)


class DataItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    element: str | None = Field(default=None, description="Identifier of the data element, e.g. DE0001")
    data_type: DataType | None = Field(default=None, description="Defaults to the element's")
    length: int | None = Field(default=None, ge=1)
    sensitivity: Sensitivity | None = Field(default=None, description="Defaults to the element's")
    key: KeyKind | None = None
    note: str = Field(default="", description="Why non-standard, or why type/sensitivity differ from the element")


class ResourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, description="Generated when omitted")
    name: str = Field(min_length=1, max_length=200)
    provider: str = Field(description="Credit code of the provider department")
    summary: str = ""
    category: Category = Category.DEPARTMENT
    class_code: str | None = Field(default=None, pattern=r"^\d{2,3}$", description="项 of the resource code")
    theme: str = ""
    keywords: list[str] = Field(default_factory=list)
    format: str = "数据库"
    sharing_type: SharingType
    sharing_condition: str = ""
    sharing_methods: list[SharingMethod] = Field(default_factory=lambda: [SharingMethod.API])
    open_type: OpenType = OpenType.NONE
    open_condition: str = ""
    update_cycle: UpdateCycle
    published_on: date | None = None
    items: list[DataItemIn] = Field(min_length=1)


class DataItemOut(BaseModel):
    name: str
    element: str | None
    element_name: str | None
    data_type: str
    length: int | None
    sensitivity: str
    key: str | None
    note: str


class ResourceOut(BaseModel):
    code: str
    name: str
    provider: str
    provider_name: str
    summary: str
    category: str
    theme: str
    keywords: list[str]
    format: str
    sharing_type: str
    sharing_condition: str
    sharing_methods: list[str]
    open_type: str
    open_condition: str
    update_cycle: str
    published_on: date | None
    attached: bool
    attached_at: datetime | None
    version: int
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    items: list[DataItemOut]

    @classmethod
    def of(cls, resource) -> ResourceOut:
        return cls(
            code=resource.code, name=resource.name, provider=resource.provider.code,
            provider_name=resource.provider.name, summary=resource.summary, category=resource.category,
            theme=resource.theme, keywords=resource.keywords, format=resource.format,
            sharing_type=resource.sharing_type, sharing_condition=resource.sharing_condition,
            sharing_methods=resource.sharing_methods, open_type=resource.open_type,
            open_condition=resource.open_condition, update_cycle=resource.update_cycle,
            published_on=resource.published_on, attached=resource.attached, attached_at=resource.attached_at,
            version=resource.version, created_at=resource.created_at, updated_at=resource.updated_at,
            withdrawn_at=resource.withdrawn_at, withdrawn_reason=resource.withdrawn_reason,
            items=[
                DataItemOut(name=i.name, element=i.element.identifier if i.element else None,
                            element_name=i.element.name if i.element else None, data_type=i.data_type,
                            length=i.length, sensitivity=i.sensitivity, key=i.key_kind, note=i.note)
                for i in resource.items
            ],
        )


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    changed_by: str
    changed_at: datetime
    changes: dict


class CodeListEntryIn(BaseModel):
    value: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=200)
    label_en: str = ""


class CodeListIn(BaseModel):
    identifier: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    name_en: str = ""
    entries: list[CodeListEntryIn] = Field(min_length=1)


class CodeListOut(CodeListIn):
    pass


class DataElementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier: str = Field(pattern=r"^[A-Z]{2}[A-Z0-9]{2,30}$")
    name: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    data_type: DataType
    length: int | None = Field(default=None, ge=1)
    format: str | None = None
    code_list: str | None = None
    rule: str | None = None
    sensitivity: Sensitivity
    key_kind: KeyKind | None = None
    base_registry: Registry | None = None
    description: str = ""


class DataElementOut(DataElementIn):
    model_config = ConfigDict(from_attributes=True)

    identifier: str

    @classmethod
    def of(cls, element) -> DataElementOut:
        return cls(
            identifier=element.identifier, name=element.name, name_en=element.name_en,
            data_type=element.data_type, length=element.length, format=element.format,
            code_list=element.code_list.identifier if element.code_list else None, rule=element.rule,
            sensitivity=element.sensitivity, key_kind=element.key_kind, base_registry=element.base_registry,
            description=element.description,
        )


class SourceClaimIn(BaseModel):
    element: str
    department: str
    resource: str | None = None


class SourceClaimOut(BaseModel):
    id: int
    element: str
    element_name: str
    department: str
    department_name: str
    resource: str | None
    status: str
    claimed_by: str
    claimed_at: datetime
    decided_by: str | None
    reason: str


class SourceDecisionIn(BaseModel):
    reason: str = Field(min_length=1)
