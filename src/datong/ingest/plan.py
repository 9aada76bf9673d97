"""What a load of one resource needs to know from the catalog, read once before the bulk work."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from datong.catalog import sources
from datong.catalog.models import DataItem, Resource
from datong.ingest.models import COMMITTED, Load
from datong.quality.models import QualityRule
from datong.quality.rules import Declared, ItemColumn, SourceLookup
from datong.security.models import Department


@dataclass
class Plan:
    resource_id: int
    resource_code: str
    provider_id: int
    provider_code: str
    update_cycle: str
    items: list[ItemColumn]
    element_names: dict[int, list[str]] = field(default_factory=dict)
    labels: dict[int, dict[str, str]] = field(default_factory=dict)
    saved_mapping: dict[str, str] = field(default_factory=dict)
    declared: dict[str, list[Declared]] = field(default_factory=dict)
    lookups: list[SourceLookup] = field(default_factory=list)
    previous_snapshot: str | None = None

    @property
    def key_items(self) -> list[ItemColumn]:
        return [c for c in self.items if c.key_kind]


def _column(index: int, item: DataItem) -> ItemColumn:
    element = item.element
    entries = element.code_list.entries if element is not None and element.code_list is not None else []
    return ItemColumn(
        index=index, name=item.name, element=element.identifier if element else None,
        rule=element.rule if element else None,
        pattern=element.format if element is not None and element.rule == "pattern" else None,
        length=item.length, data_type=item.data_type, key_kind=item.key_kind,
        code_list=element.code_list.identifier if entries else None, codes=tuple(e.value for e in entries),
    )


def last_snapshot(session: Session, resource_id: int) -> str | None:
    path = session.scalar(select(Load.snapshot).where(Load.resource_id == resource_id, Load.status == COMMITTED)
                          .order_by(Load.id.desc()).limit(1))
    return path if path and Path(path).exists() else None


def _declared(session: Session, resource: Resource) -> dict[str, list[Declared]]:
    element_ids = {i.element_id for i in resource.items if i.element_id}
    rules = session.scalars(select(QualityRule).where(
        QualityRule.enabled.is_(True),
        or_(QualityRule.resource_id == resource.id, QualityRule.element_id.in_(element_ids))))
    declared: dict[str, list[Declared]] = {}
    for rule in rules:
        targets = [i.name for i in resource.items if (rule.resource_id == resource.id and rule.item == i.name)
                   or (rule.element_id is not None and i.element_id == rule.element_id)]
        for name in targets:
            declared.setdefault(name, []).append(Declared(rule.kind, rule.params or {}, rule.severity))
    return declared


def _lookups(session: Session, resource: Resource, items: list[ItemColumn]) -> list[SourceLookup]:
    """For each item whose element has another department as its authoritative source, that
    department's resource holding the element under the same kind of key, if it has been loaded."""
    keys = [c for c in items if c.key_kind and c.element]
    lookups = []
    for col in items:
        if not col.element or col.key_kind:
            continue
        code = sources.authoritative_department(session, col.element)
        if code is None or code == resource.provider.code:
            continue
        department = session.scalar(select(Department).where(Department.code == code))
        for other in session.scalars(select(Resource).where(Resource.provider_id == department.id)):
            value_item = next((i for i in other.items if i.element and i.element.identifier == col.element), None)
            match = next(((k, i) for k in keys for i in other.items
                          if i.key_kind and i.element and i.element.identifier == k.element), None)
            snapshot = last_snapshot(session, other.id) if value_item and match else None
            if snapshot:
                lookups.append(SourceLookup(col.index, match[0].index, snapshot, match[1].name, value_item.name,
                                            department.short_name or department.name))
                break
    return lookups


def plan_for(session: Session, resource: Resource) -> Plan:
    items = [_column(n, item) for n, item in enumerate(resource.items)]
    plan = Plan(resource.id, resource.code, resource.provider_id, resource.provider.code, resource.update_cycle,
                items, saved_mapping=dict(resource.column_mapping or {}))
    for n, item in enumerate(resource.items):
        if item.element is not None:
            plan.element_names[n] = [item.element.name, item.element.name_en, item.element.identifier]
            if item.element.code_list is not None:
                plan.labels[n] = {e.label: e.value for e in item.element.code_list.entries}
                plan.labels[n].update({e.label_en: e.value for e in item.element.code_list.entries if e.label_en})
    plan.declared = _declared(session, resource)
    plan.lookups = _lookups(session, resource, items)
    plan.previous_snapshot = last_snapshot(session, resource.id)
    return plan
