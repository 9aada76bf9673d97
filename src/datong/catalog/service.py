"""Catalog services: the data element dictionary, resources and their versions, 一数一源.

Keyword-only functions over a session and an actor; they authorize, change state, append the
audit event and never commit.
"""

from __future__ import annotations

import re

from sqlalchemy import and_, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from datong.catalog import codes, standard
from datong.catalog.models import CodeList, CodeListEntry, DataElement, DataItem, Resource, ResourceVersion
from datong.catalog.schemas import CodeListIn, DataElementIn, DataItemIn, ResourceIn
from datong.catalog.vocab import Category, OpenType, SharingType
from datong.db.base import utcnow
from datong.db.paging import Found, Window, escape_like, window
from datong import events
from datong.errors import Conflict, DatongError, InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import Department
from datong.security.service import get_department

RESOURCE = Term(N_("Resource"))
ELEMENT = Term(N_("Data element"))
CODE_LIST = Term(N_("Code list"))
CODE_FORMAT_SETTING = "resource_code_format"


# --- dictionary ---------------------------------------------------------------------------------


def get_element(session: Session, identifier: str) -> DataElement:
    element = session.scalar(select(DataElement).where(DataElement.identifier == identifier.strip().upper()))
    if element is None:
        raise NotFound(what=ELEMENT, key=identifier)
    return element


def list_elements(session: Session, *, q: str | None = None, page: Window | None = None) -> Found[DataElement]:
    """The dictionary is reference data: anyone signed in may read it."""
    stmt = select(DataElement).order_by(DataElement.identifier)
    if q:
        pattern = f"%{escape_like(q.strip())}%"
        stmt = stmt.where(or_(DataElement.name.like(pattern, escape="\\"),
                              DataElement.name_en.ilike(pattern, escape="\\"),
                              DataElement.identifier.ilike(pattern, escape="\\")))
    return window(session, stmt, page)


def list_code_lists(session: Session, *, page: Window | None = None) -> Found[CodeList]:
    return window(session, select(CodeList).order_by(CodeList.identifier), page)


@service(mutates=True)
def create_code_list(session: Session, actor: Actor, *, data: CodeListIn) -> CodeList:
    authorize(actor, "dictionary.edit", Target("code_list", data.identifier))
    if session.scalar(select(CodeList.id).where(CodeList.identifier == data.identifier)):
        raise Conflict(what=CODE_LIST, key=data.identifier)
    values = [e.value for e in data.entries]
    if len(values) != len(set(values)):
        raise InvalidInput(field="entries", reason=Term(N_("each code may appear once")))
    code_list = CodeList(identifier=data.identifier, name=data.name, name_en=data.name_en, entries=[
        CodeListEntry(value=e.value, label=e.label, label_en=e.label_en, position=i)
        for i, e in enumerate(data.entries)
    ])
    session.add(code_list)
    session.flush()
    append_event(session, actor=actor, action="code_list.create", target=f"code_list:{data.identifier}")
    return code_list


@service(mutates=True)
def create_element(session: Session, actor: Actor, *, data: DataElementIn) -> DataElement:
    authorize(actor, "dictionary.edit", Target("data_element", data.identifier))
    if session.scalar(select(DataElement.id).where(or_(DataElement.identifier == data.identifier,
                                                        DataElement.name == data.name))):
        raise Conflict(what=ELEMENT, key=f"{data.identifier} {data.name}")
    code_list = None
    if data.code_list:
        code_list = session.scalar(select(CodeList).where(CodeList.identifier == data.code_list))
        if code_list is None:
            raise NotFound(what=CODE_LIST, key=data.code_list)
    if data.format:
        try:
            re.compile(data.format)
        except re.error as exc:
            raise InvalidInput(field="format", reason=str(exc)) from None
    element = DataElement(**data.model_dump(exclude={"code_list"}), code_list=code_list)
    session.add(element)
    session.flush()
    append_event(session, actor=actor, action="data_element.create", target=f"data_element:{data.identifier}")
    return element


@service(mutates=True)
def install_standard_dictionary(session: Session, actor: Actor) -> int:
    """Add the standard code lists and data elements that are missing; returns how many."""
    authorize(actor, "dictionary.edit", Target("dictionary"))
    added = 0
    known_lists = set(session.scalars(select(CodeList.identifier)))
    for identifier, name, name_en, entries in standard.CODE_LISTS:
        if identifier not in known_lists:
            session.add(CodeList(identifier=identifier, name=name, name_en=name_en, entries=[
                CodeListEntry(value=v, label=zh, label_en=en, position=i) for i, (v, zh, en) in enumerate(entries)
            ]))
            added += 1
    session.flush()
    lists = {c.identifier: c for c in session.scalars(select(CodeList))}
    known = set(session.scalars(select(DataElement.identifier)))
    for ident, name, name_en, dtype, length, fmt, code_list, rule, sensitivity, key, registry in standard.ELEMENTS:
        if ident not in known:
            session.add(DataElement(
                identifier=ident, name=name, name_en=name_en, data_type=dtype, length=length, format=fmt,
                code_list=lists.get(code_list) if code_list else None, rule=rule, sensitivity=sensitivity,
                key_kind=key, base_registry=registry, description="",
            ))
            added += 1
    session.flush()
    if added:
        append_event(session, actor=actor, action="dictionary.install", target="dictionary", detail={"added": added})
    return added


# --- resources ------------------------------------------------------------------------------------


def _has_keyword(session: Session, keyword: str):
    """The resource lists ``keyword`` among its keywords (a JSON array): exact, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(Resource.keywords, JSONB).contains([keyword])
    words = func.json_each(Resource.keywords).table_valued("value").alias("keyword")
    return exists(select(1).select_from(words).where(words.c.value == keyword))


def get_resource(session: Session, code: str) -> Resource:
    """Catalog metadata is visible to every signed-in user and system (it is how they find data)."""
    resource = session.scalar(select(Resource).where(Resource.code == code.strip()))
    if resource is None:
        raise NotFound(what=RESOURCE, key=code)
    return resource


def _search_text(resource: Resource) -> str:
    parts = [resource.name, resource.summary, resource.theme, " ".join(resource.keywords),
             resource.provider.name if resource.provider else "", *(i.name for i in resource.items)]
    return " ".join(p for p in parts if p).lower()


def _items(session: Session, items: list[DataItemIn]) -> list[DataItem]:
    built, seen = [], set()
    for position, item in enumerate(items):
        field = f"items[{position}]"
        if item.name in seen:
            raise InvalidInput(field=field, reason=Term(N_("this data item name appears twice")))
        seen.add(item.name)
        element = get_element(session, item.element) if item.element else None
        if element is None and not item.note.strip():
            raise InvalidInput(field=field, reason=Term(N_("map it to a data element, or give the reason it is non-standard")))
        data_type = item.data_type.value if item.data_type else (element.data_type if element else "string")
        sensitivity = item.sensitivity.value if item.sensitivity else (element.sensitivity if element else "internal")
        overridden = element is not None and (data_type != element.data_type or sensitivity != element.sensitivity)
        if overridden and not item.note.strip():
            raise InvalidInput(field=field, reason=Term(N_("its type or sensitivity differs from the data element; give the reason")))
        key = item.key.value if item.key else None
        if key and element is not None and element.key_kind not in (None, key):
            raise InvalidInput(field=field, reason=Term(N_("the key kind does not match the data element")))
        built.append(DataItem(position=position, name=item.name, element=element, data_type=data_type,
                              length=item.length or (element.length if element else None),
                              sensitivity=sensitivity, key_kind=key, note=item.note.strip()))
    return built


def _next_code(session: Session, category: str, class_code: str) -> str:
    render, prefix = codes.formatter(session.info.get(CODE_FORMAT_SETTING, "national"))
    start = prefix(category, class_code)
    existing = session.scalars(select(Resource.code).where(Resource.code.like(f"{escape_like(start)}%", escape="\\")))
    sequences = [int(m.group(1)) for c in existing if (m := re.search(r"(\d+)$", c))]
    return render(category, class_code, max(sequences, default=0) + 1)


def snapshot(resource: Resource) -> dict:
    """The resource as data (for versions, exports and comparisons)."""
    from datong.catalog.schemas import ResourceOut

    out = ResourceOut.of(resource).model_dump(mode="json")
    for volatile in ("version", "created_at", "updated_at", "attached", "attached_at"):
        out.pop(volatile)
    return out


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def _apply(session: Session, resource: Resource, data: ResourceIn, provider: Department) -> None:
    resource.name = data.name.strip()
    resource.provider = provider
    resource.summary = data.summary.strip()
    resource.category = data.category.value
    resource.theme = data.theme.strip()
    resource.keywords = [k.strip() for k in data.keywords if k.strip()]
    resource.format = data.format
    resource.sharing_type = data.sharing_type.value
    resource.sharing_condition = data.sharing_condition.strip()
    resource.sharing_methods = [m.value for m in data.sharing_methods]
    resource.open_type = data.open_type.value
    resource.open_condition = data.open_condition.strip()
    resource.update_cycle = data.update_cycle.value
    resource.published_on = data.published_on
    if data.sharing_type is SharingType.CONDITIONAL and not resource.sharing_condition:
        raise InvalidInput(field="sharing_condition", reason=Term(N_("conditional sharing needs its condition")))
    if data.sharing_type is SharingType.NONE and not resource.sharing_condition:
        raise InvalidInput(field="sharing_condition", reason=Term(N_("say on what basis the resource is not shared")))
    if data.open_type is OpenType.CONDITIONAL and not resource.open_condition:
        raise InvalidInput(field="open_condition", reason=Term(N_("conditional opening needs its condition")))


def _record_version(session: Session, actor: Actor, resource: Resource, before: dict | None) -> dict:
    after = snapshot(resource)
    changes = _diff(before or {}, after) if before is not None else {"created": [None, resource.code]}
    session.add(ResourceVersion(resource_id=resource.id, version=resource.version, changed_by=actor.name,
                                changes=changes, snapshot=after))
    return changes


@service(mutates=True)
def create_resource(session: Session, actor: Actor, *, data: ResourceIn) -> Resource:
    provider = get_department(session, data.provider)
    authorize(actor, "resource.edit", Target("resource", data.code, provider.id))
    code = (data.code or "").strip()
    if not code:
        class_code = data.class_code or (f"{provider.id:03d}" if data.category is Category.DEPARTMENT else "00")
        code = _next_code(session, data.category.value, class_code)
    if session.scalar(select(Resource.id).where(Resource.code == code)):
        raise Conflict(what=RESOURCE, key=code)
    resource = Resource(code=code, version=1)
    _apply(session, resource, data, provider)
    resource.items = _items(session, data.items)
    resource.search_text = _search_text(resource)
    session.add(resource)
    session.flush()
    _record_version(session, actor, resource, None)
    append_event(session, actor=actor, action="resource.create", target=f"resource:{code}",
                 detail={"provider": provider.code})
    return resource


@service(mutates=True)
def update_resource(session: Session, actor: Actor, *, code: str, data: ResourceIn) -> tuple[Resource, dict]:
    """Replace a resource's metadata and items; returns it and what changed (nothing: no new version)."""
    resource = get_resource(session, code)
    authorize(actor, "resource.edit", Target("resource", code, resource.provider_id))
    provider = get_department(session, data.provider)
    if provider.id != resource.provider_id:
        authorize(actor, "resource.edit", Target("resource", code, provider.id))
    before = snapshot(resource)
    _apply(session, resource, data, provider)
    new_items = _items(session, data.items)
    after_items = [
        {"name": i.name, "element": i.element.identifier if i.element else None, "data_type": i.data_type,
         "length": i.length, "sensitivity": i.sensitivity, "key": i.key_kind, "note": i.note}
        for i in new_items
    ]
    before_items = [{k: v for k, v in item.items() if k != "element_name"} for item in before["items"]]
    if after_items != before_items:
        resource.items.clear()
        session.flush()
        resource.items.extend(new_items)
    session.flush()
    changes = _diff(before, snapshot(resource))
    if changes:
        resource.version += 1
        resource.updated_at = utcnow()
        resource.search_text = _search_text(resource)
        _record_version(session, actor, resource, before)
        append_event(session, actor=actor, action="resource.update", target=f"resource:{code}",
                     detail={"version": resource.version, "fields": sorted(changes)})
    return resource, changes


def resource_history(session: Session, code: str, *, page: Window | None = None) -> Found[ResourceVersion]:
    resource = get_resource(session, code)
    return window(session, select(ResourceVersion).where(ResourceVersion.resource_id == resource.id)
                  .order_by(ResourceVersion.version.desc()), page)


class Withdrawn(DatongError):
    status = 409
    code = "withdrawn"
    message = N_("{resource} was withdrawn on {date}: {reason}")


def refuse_withdrawn(resource: Resource) -> None:
    """A withdrawn resource is neither loaded nor requested any more."""
    if resource.withdrawn_at is not None:
        raise Withdrawn(resource=resource.name, date=resource.withdrawn_at.date().isoformat(),
                        reason=resource.withdrawn_reason or "—")


@service(mutates=True)
def withdraw_resource(session: Session, actor: Actor, *, code: str, reason: str) -> Resource:
    """撤销: the resource stays in the catalog, marked withdrawn, and nothing more is loaded into
    or requested from it; sharing revokes its grants, ends its subscriptions and rejects its
    pending requests (the ``resource.withdrawn`` event). Its records and loads are kept."""
    resource = get_resource(session, code)
    authorize(actor, "resource.withdraw", Target("resource", resource.code, resource.provider_id))
    refuse_withdrawn(resource)
    if not reason.strip():
        raise InvalidInput(field="reason", reason=Term(N_("say why (it is kept in the audit log)")))
    resource.withdrawn_at, resource.withdrawn_reason = utcnow(), reason.strip()[:500]
    resource.version += 1  # cached views of the resource are renewed
    events.publish(session, events.RESOURCE_WITHDRAWN, {"resource": resource.id, "code": resource.code,
                                                        "reason": resource.withdrawn_reason, "by": actor.name})
    append_event(session, actor=actor, action="resource.withdraw", target=f"resource:{resource.code}",
                 detail={"reason": resource.withdrawn_reason})
    return resource


def search_resources(
    session: Session,
    *,
    q: str | None = None,
    provider: str | None = None,
    sharing_type: str | None = None,
    open_type: str | None = None,
    category: str | None = None,
    attached: bool | None = None,
    only_open: bool = False,
    withdrawn: bool | None = False,
    keyword: str | None = None,
    format: str | None = None,
    code_like: str | None = None,
    among=None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Resource], int]:
    """Filter and search the catalog; every word of ``q`` must occur in the name, summary,
    keywords, provider or an item name. Chinese has no spaces between words, so matching is by
    substring, which finds 人口 in 人口基本信息 and in 户籍人口 alike. Withdrawn resources are left
    out unless ``withdrawn`` is True (only them) or None (all). ``among``: a SELECT of the resource
    ids to keep (a higher domain's choice, such as those published as open data)."""
    conditions = []
    for word in (q or "").lower().split():
        conditions.append(Resource.search_text.like(f"%{escape_like(word)}%", escape="\\"))
    if provider:
        conditions.append(Resource.provider_id == get_department(session, provider).id)
    for column, value in ((Resource.sharing_type, sharing_type), (Resource.open_type, open_type),
                          (Resource.category, category)):
        if value:
            conditions.append(column == value)
    if attached is not None:
        conditions.append(Resource.attached.is_(attached))
    if only_open:
        conditions.append(Resource.open_type != OpenType.NONE.value)
    if withdrawn is not None:
        conditions.append(Resource.withdrawn_at.is_not(None) if withdrawn else Resource.withdrawn_at.is_(None))
    if keyword:
        conditions.append(_has_keyword(session, keyword))
    if format:
        conditions.append(Resource.format == format)
    if among is not None:
        conditions.append(Resource.id.in_(among))
    if code_like:  # a LIKE pattern over the lower-cased code, escaped with \ by the caller
        conditions.append(func.lower(Resource.code).like(code_like, escape="\\"))
    where = and_(*conditions) if conditions else None
    count = select(func.count(Resource.id))
    stmt = select(Resource).order_by(Resource.code).limit(limit).offset(offset)  # callers bound the limit
    if where is not None:
        count, stmt = count.where(where), stmt.where(where)
    return list(session.scalars(stmt)), session.scalar(count) or 0
