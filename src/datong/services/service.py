"""Service items (事项) and 一件事 bundles: what can be applied for, where each material comes from,
the review flow, the result, the automatic rules; and the service guide (办事指南) published from
them, which tells the applicant which materials they no longer bring."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from datong.catalog.models import Resource
from datong.db.engine import once_per_transaction
from datong.db.keep import kept_by_key, stamps_by_code_or_name
from datong.errors import Conflict, InvalidInput, NotFound
from datong.i18n import N_, Message, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import Department
from datong.services import bpmn, rules
from datong.services.models import ITEM_KINDS, Bundle, ServiceItem

ITEM = Term(N_("Service item"))
BUNDLE = Term(N_("Bundle"))
MATERIAL_SOURCES = ("licence", "shared", "upload", "result")
#: The sources a citizen no longer brings a paper for (the hub fetches them).
HUB_SOURCES = ("licence", "shared", "result")


@dataclass(frozen=True)
class ItemSpec:
    code: str
    name: str
    department: str  # credit code
    kind: str
    applicant_kind: str
    legal_days: int
    promised_days: int
    fields: list[dict]
    materials: list[dict] = field(default_factory=list)
    flow: str | None = None  # BPMN; None: one review by the item's department
    legal_basis: str = ""
    conditions: str = ""
    fee: str = "不收费"
    windows: list[str] = field(default_factory=list)
    online: bool = False
    result: dict | None = None
    auto_rules: list[dict] = field(default_factory=list)
    sample_rate: float = 0.0


def department(session: Session, key: str) -> Department:
    """A department by credit code or by name (BPMN lanes may use either)."""
    found = session.scalar(select(Department).where(or_(Department.code == key, Department.name == key,
                                                        Department.short_name == key)))
    if found is None:
        raise NotFound(what=Term(N_("Department")), key=key)
    return found


def _check_fields(fields: list[dict]) -> list[dict]:
    names = [str(f.get("name") or "").strip() for f in fields]
    if not names or "" in names or len(set(names)) != len(names):
        raise InvalidInput(field="fields", reason=Term(N_("each field needs a name of its own")))
    return [{"name": n, "element": f.get("element") or None, "licence": f.get("licence") or None,
             "required": bool(f.get("required", True))} for n, f in zip(names, fields)]


def _check_materials(session: Session, materials: list[dict]) -> list[dict]:
    from datong.licenses.service import licence_type

    out = []
    for n, m in enumerate(materials):
        source, name = m.get("source"), str(m.get("name") or "").strip()
        if not name or source not in MATERIAL_SOURCES:
            raise InvalidInput(field=f"materials[{n}]", reason=Message(
                N_("each material needs a name and a source: {sources}"), sources=", ".join(MATERIAL_SOURCES)))
        entry = {"name": name, "source": source, "required": bool(m.get("required", True))}
        if source in ("licence", "result") and m.get("licence_type"):
            entry["licence_type"] = licence_type(session, m["licence_type"]).code
        elif source == "licence":
            raise InvalidInput(field=f"materials[{n}]", reason=Term(N_("say which licence type supplies it")))
        if source == "result":
            entry["item"] = str(m.get("item") or "")
        if source == "shared":
            resource = session.scalar(select(Resource).where(Resource.code == m.get("resource")))
            if resource is None:
                raise NotFound(what=Term(N_("Resource")), key=str(m.get("resource")))
            entry["resource"] = resource.code
        out.append(entry)
    return out


def _check_flow(session: Session, spec: ItemSpec, owner: Department) -> str:
    xml = spec.flow or bpmn.review_flow(_process_id(spec.code), spec.name, [[(owner.code, f"{owner.short_name or owner.name}审核")]])
    lanes = bpmn.user_lanes(xml)
    if not lanes:
        raise InvalidInput(field="flow", reason=Term(N_("the flow has no user task for a department to review")))
    for step, lane in lanes.items():
        if not lane:
            raise InvalidInput(field="flow", reason=Message(N_("task {step} sits in no lane: put it in its department's lane"),
                                                            step=step))
        department(session, lane)
    return xml


def _process_id(code: str) -> str:
    return "item_" + "".join(c if c.isalnum() else "_" for c in code)


def _check_result(session: Session, result: dict | None, fields: list[dict]) -> dict:
    from datong.licenses.service import licence_type

    if not result:
        return {}
    kind = licence_type(session, result.get("type", ""))
    names = {f["name"] for f in fields}
    mapping = dict(result.get("fields") or {})
    wanted = [result.get("holder_name"), result.get("holder"), *mapping.values()]
    unknown = [w for w in wanted if w and w not in names]
    if unknown or set(mapping) - {f["name"] for f in kind.fields}:
        raise InvalidInput(field="result", reason=Message(N_("the result maps fields that do not exist: {fields}"),
                                                          fields="、".join(map(str, unknown or set(mapping)))))
    return {"type": kind.code, "holder": result.get("holder"), "holder_name": result.get("holder_name"), "fields": mapping}


@service(mutates=True)
def save_item(session: Session, actor: Actor, *, spec: ItemSpec) -> ServiceItem:
    """Create or change a service item (the bureau, or the responsible department's administrator)."""
    owner = department(session, spec.department)
    authorize(actor, "service.item", Target("service_item", spec.code, owner.id))
    if spec.kind not in ITEM_KINDS or spec.applicant_kind not in ("person", "entity"):
        raise InvalidInput(field="kind", reason=Message(N_("one of {kinds}"), kinds=", ".join(ITEM_KINDS)))
    if not 1 <= spec.promised_days <= spec.legal_days <= 365:
        raise InvalidInput(field="promised_days", reason=Term(N_(
            "the promised limit is 1 working day or more and no longer than the statutory one")))
    if not 0 <= spec.sample_rate <= 1:
        raise InvalidInput(field="sample_rate", reason=Term(N_("a share between 0 and 1")))
    fields = _check_fields(spec.fields)
    materials, flow = _check_materials(session, spec.materials), _check_flow(session, spec, owner)
    result, auto_rules = _check_result(session, spec.result, fields), rules.check(spec.auto_rules, fields)
    if session.scalar(select(ServiceItem.id).where(ServiceItem.name == spec.name, ServiceItem.code != spec.code)):
        raise Conflict(what=ITEM, key=spec.name)
    row = session.scalar(select(ServiceItem).where(ServiceItem.code == spec.code))
    if row is None:
        row = ServiceItem(code=spec.code, updated_by=actor.name)
        session.add(row)
    row.name, row.department_id, row.kind, row.applicant_kind = spec.name, owner.id, spec.kind, spec.applicant_kind
    row.legal_days, row.promised_days, row.fee, row.windows = spec.legal_days, spec.promised_days, spec.fee, spec.windows
    row.legal_basis, row.conditions, row.online = spec.legal_basis, spec.conditions, spec.online
    row.fields, row.materials, row.flow, row.result = fields, materials, flow, result
    row.auto_rules, row.sample_rate = auto_rules, spec.sample_rate
    row.updated_by, row.active = actor.name, True
    session.flush()
    from datong.services.webhooks import ensure_case_resource

    ensure_case_resource(session)
    append_event(session, actor=actor, action="service.item", target=f"service_item:{row.code}",
                 detail={"name": row.name, "department": owner.code, "auto_rules": len(row.auto_rules)})
    return row


def get_item(session: Session, code: str) -> ServiceItem:
    """An item by code or name; looked up once per transaction (an intake asks for each several times)."""
    return get_items(session, [code])[0]


def get_items(session: Session, codes: list[str]) -> list[ServiceItem]:
    """Items by code or name, in the order asked; those not yet looked up in this transaction are
    read in one statement (a bundle's items at once)."""
    known = session.info.setdefault("service_items", {})
    wanted = [c for c in dict.fromkeys(codes) if c not in known]
    if wanted:
        rows = session.scalars(select(ServiceItem).where(or_(ServiceItem.code.in_(wanted), ServiceItem.name.in_(wanted))))
        for row in sorted(rows, key=lambda r: r.code not in wanted):  # a code wins over another item's name
            for key in (row.code, row.name):
                if key in wanted:
                    known.setdefault(key, row)
    for code in codes:
        if code not in known:
            raise NotFound(what=ITEM, key=code)
    return [known[c] for c in codes]


def list_items(session: Session, *, department_id: int | None = None) -> list[ServiceItem]:
    query = select(ServiceItem).where(ServiceItem.active.is_(True)).order_by(ServiceItem.code)
    if department_id is not None:
        query = query.where(ServiceItem.department_id == department_id)
    return list(session.scalars(query))


def guide(item: ServiceItem) -> dict:
    """The service guide (办事指南): public; counts the materials the hub fetches instead."""
    materials = [{**m, "bring": m["source"] == "upload"} for m in item.materials]
    steps = [{"step": step, "name": name, "department": lane} for step, name, lane in bpmn.user_tasks(item.flow)]
    return {"code": item.code, "name": item.name, "kind": item.kind, "department": item.department.name,
            "department_code": item.department.code, "applicant_kind": item.applicant_kind,
            "legal_basis": item.legal_basis, "conditions": item.conditions, "legal_days": item.legal_days,
            "promised_days": item.promised_days, "fee": item.fee, "windows": item.windows, "online": item.online,
            "fields": item.fields, "materials": materials, "steps": steps,
            "materials_not_needed": sum(1 for m in materials if not m["bring"]),
            "materials_to_bring": sum(1 for m in materials if m["bring"]),
            "automatic": bool(item.auto_rules), "result": item.result.get("type") if item.result else None}


@service(mutates=True)
def save_bundle(session: Session, actor: Actor, *, code: str, name: str, items: list[dict],
                description: str = "") -> Bundle:
    """一件事: items in an order their dependencies allow (each ``after`` names items of the bundle)."""
    authorize(actor, "service.bundle", Target("bundle", code))
    codes = [get_item(session, str(i.get("item", ""))).code for i in items]
    if len(codes) < 2 or len(set(codes)) != len(codes):
        raise InvalidInput(field="items", reason=Term(N_("a bundle joins two or more different items")))
    entries = [{"item": c, "after": [get_item(session, a).code for a in (i.get("after") or [])]}
               for c, i in zip(codes, items)]
    placed: set[str] = set()
    for entry in entries:  # every dependency comes earlier in the list: no cycles, a clear order
        if not set(entry["after"]) <= placed:
            raise InvalidInput(field="items", reason=Message(N_("{item} depends on an item that does not come before it"),
                                                             item=entry["item"]))
        placed.add(entry["item"])
    row = session.scalar(select(Bundle).where(Bundle.code == code))
    if row is None:
        row = Bundle(code=code, updated_by=actor.name)
        session.add(row)
    row.name, row.items, row.description, row.updated_by, row.active = name, entries, description, actor.name, True
    session.flush()
    append_event(session, actor=actor, action="service.bundle", target=f"bundle:{code}", detail={"items": codes})
    return row


def get_bundle(session: Session, code: str) -> Bundle:
    """A bundle by code or name, looked up once per transaction."""
    def load() -> Bundle:
        row = session.scalar(select(Bundle).where(or_(Bundle.code == code, Bundle.name == code)))
        if row is None:
            raise NotFound(what=BUNDLE, key=code)
        return row

    return once_per_transaction(session, "service_bundles", code, load)


# What an intake applies for, kept per process (``datong.db.keep``).
_BUNDLE_STAMPS, _ITEM_STAMPS = stamps_by_code_or_name(Bundle), stamps_by_code_or_name(ServiceItem)
KEPT = "service_definitions"


def intake_definitions(session: Session, *, item: str | None = None, bundle: str | None = None
                       ) -> tuple[list[ServiceItem], Bundle | None]:
    """The item, or the bundle and its items, that an intake applies for, kept per process by
    version (``datong.db.keep``): every intake needs them, and they change a few times a year.
    Read them, never change them."""
    group = None
    if bundle is not None:
        groups, missing = kept_by_key(session, KEPT, Bundle, _BUNDLE_STAMPS, [bundle])
        if missing is not None:
            raise NotFound(what=BUNDLE, key=bundle)
        group = groups[0]
    keys = [e["item"] for e in group.items] if group is not None else [item]
    rows, missing = kept_by_key(session, KEPT, ServiceItem, _ITEM_STAMPS, keys)
    if missing is not None:
        raise NotFound(what=ITEM, key=missing)
    return rows, group


def list_bundles(session: Session) -> list[Bundle]:
    return list(session.scalars(select(Bundle).where(Bundle.active.is_(True)).order_by(Bundle.code)))


def merged_fields(session: Session, bundle: Bundle) -> list[dict]:
    """The bundle's one form: every item's fields, each datum asked once (by name)."""
    seen: dict[str, dict] = {}
    for item in get_items(session, [entry["item"] for entry in bundle.items]):
        for f in item.fields:
            seen.setdefault(f["name"], f)
    return list(seen.values())
