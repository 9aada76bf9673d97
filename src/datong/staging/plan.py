"""What a load of one resource needs to know from the catalog, read once before the bulk work."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.catalog import sources
from datong.catalog.models import DataItem, Resource
from datong.staging.columns import Declared, ItemColumn, SourceLookup
from datong.store.snapshots import last_snapshot
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
                                            department.short_name or department.name, other.code))
                break
    return lookups


def plan_for(session: Session, resource: Resource, declared: dict[str, list[Declared]] | None = None) -> Plan:
    """``declared``: the quality rules declared for the resource's items (quality.service.declared_rules)."""
    items = [_column(n, item) for n, item in enumerate(resource.items)]
    plan = Plan(resource.id, resource.code, resource.provider_id, resource.provider.code, resource.update_cycle,
                items, saved_mapping=dict(resource.column_mapping or {}))
    for n, item in enumerate(resource.items):
        if item.element is not None:
            plan.element_names[n] = [item.element.name, item.element.name_en, item.element.identifier]
            if item.element.code_list is not None:
                plan.labels[n] = {e.label: e.value for e in item.element.code_list.entries}
                plan.labels[n].update({e.label_en: e.value for e in item.element.code_list.entries if e.label_en})
    plan.declared = declared or {}
    plan.lookups = _lookups(session, resource, items)
    plan.previous_snapshot = last_snapshot(session, resource.id)
    return plan
