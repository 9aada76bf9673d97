"""The registries' rules: their resources in the catalog, reading a subject through sharing with
each attribute's provenance, search, the steward's review queue, precedence lists, statistics,
and the rectification issues that disagreements become."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from datong.catalog.models import DataElement, DataItem, Resource
from datong.catalog.schemas import ResourceIn
from datong.codes import credit_code, id_number
from datong.db.base import utcnow
from datong.db.engine import once_per_transaction
from datong.db.snapshot import Prepared, among, snapshot_of
from datong.errors import InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.quality.models import QualityIssue
from datong.registry.models import (
    DIFFERENT,
    PENDING,
    SAME,
    Build,
    Change,
    Link,
    Name,
    Precedence,
    Profile,
    Review,
    Subject,
)
from datong.registry.spec import ENTITY, KEY_ELEMENT, KINDS, PERSON, RESOURCE_NAMES, elements_of
from datong.security import masking
from datong.security.audit import append_event, record_read
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import Department, User, UserRole
from datong.security.roles import Role
from datong.sharing.service import ItemView, _grant_on, masking_of, read_records, required_purpose
from datong.store.models import COMMITTED, Load, Record

#: How a golden value was chosen, and how a record was linked, as people read them.
LABELS = {"authoritative": N_("authoritative source"), "precedence": N_("precedence list"),
          "latest": N_("most sources, then newest"), "id": N_("by ID number"), "old_code": N_("by old registration or organisation code"),
          "model": N_("by the model"), "steward": N_("by a steward")}
SUBJECT = Term(N_("Registry subject"))
REVIEW = Term(N_("Review item"))
REGISTRY_ISSUE = "registry"  # the kind of a disagreement's rectification issue
KEY_NAMES = {PERSON: "公民身份号码", ENTITY: "统一社会信用代码"}
SUMMARIES = {
    PERSON: "以公民身份号码为主键，汇聚各部门人口数据形成的人口综合库：每项属性取一数一源的权威来源，"
            "并保留其他来源的值、来源资源、批次和时间。",
    ENTITY: "以统一社会信用代码为主键，汇聚各部门法人数据形成的法人综合库；旧注册号、组织机构代码映射到统一社会信用代码。",
}


def key_item_name(kind: str) -> str:
    return KEY_NAMES[kind]


def bureau_department(session: Session) -> Department:
    """The bureau that runs the hub: ``DATONG_BUREAU`` if set, else the department of the first
    bureau administrator. Looked up once per transaction."""
    return once_per_transaction(session, "bureau_department", None, lambda: _bureau_department(session))


def _bureau_department(session: Session) -> Department:
    code = session.info.get("bureau")
    if code:
        found = session.scalar(select(Department).where(Department.code == code))
    else:
        found = session.scalar(select(Department).join(User, User.department_id == Department.id)
                               .join(UserRole, UserRole.user_id == User.id)
                               .where(UserRole.role == Role.BUREAU_ADMIN.value).order_by(User.id).limit(1))
    if found is None:
        raise InvalidInput(field="bureau", reason=Term(N_(
            "no bureau department is known: set DATONG_BUREAU to its credit code or create a bureau administrator")))
    return found


def registry_resource(session: Session, kind: str) -> Resource:
    """The registry's resource with its items and their elements, looked up once per transaction."""
    return once_per_transaction(session, "registry_resources", kind, lambda: _registry_resource(session, kind))


def _registry_resource(session: Session, kind: str) -> Resource:
    bureau = bureau_department(session)
    # items and their elements, not the elements' code lists (a division list has thousands of entries)
    found = session.scalar(select(Resource).options(selectinload(Resource.items).joinedload(DataItem.element)
                                                    .lazyload(DataElement.code_list))
                           .where(Resource.provider_id == bureau.id, Resource.name == RESOURCE_NAMES[kind]))
    if found is None:
        raise NotFound(what=Term(N_("Registry resource")), key=RESOURCE_NAMES[kind])
    return found


@dataclass(frozen=True)
class RegistryView:
    """What a read of the registry needs of its resource: kept per (resource, version) for the
    database, as sharing keeps its resource views, so that a read of a subject checks the
    resource's version in one small statement instead of loading it with its items and elements."""

    id: int
    code: str
    provider_id: int
    items: tuple[ItemView, ...]


# The registry resource's id and version, by the bureau that DATONG_BUREAU names or, without it,
# the first bureau administrator's department (as bureau_department finds it).
_BUREAU = {True: select(Department.id).where(Department.code == bindparam("bureau")).scalar_subquery(),
           False: select(Department.id).join(User, User.department_id == Department.id)
           .where(User.id == select(func.min(UserRole.user_id)).where(UserRole.role == bindparam("role"))
                  .scalar_subquery()).scalar_subquery()}
_STAMP = {named: Prepared(select(Resource.id, Resource.version)
                          .where(Resource.provider_id == bureau, Resource.name == bindparam("name")))
          for named, bureau in _BUREAU.items()}


def registry_view(session: Session, kind: str) -> RegistryView:
    """The registry's resource as reads see it, looked up once per transaction."""
    return once_per_transaction(session, "registry_views", kind, lambda: _registry_view(session, kind))


def _registry_view(session: Session, kind: str) -> RegistryView:
    bureau = session.info.get("bureau")
    found = snapshot_of(session).rows(_STAMP[bool(bureau)], {"bureau": bureau, "role": Role.BUREAU_ADMIN.value,
                                                             "name": RESOURCE_NAMES[kind]})
    views = session.info.setdefault("views", {})  # one cache per Database; an edit bumps the version
    view = views.get(("registry", *found[0])) if found else None
    if view is None:  # not yet kept, or no such resource (which this lookup says clearly)
        resource = registry_resource(session, kind)
        view = RegistryView(resource.id, resource.code, resource.provider_id, tuple(
            ItemView(i.name, i.element.identifier if i.element else None, i.sensitivity) for i in resource.items))
        if len(views) > 10_000:
            views.clear()
        views["registry", resource.id, resource.version] = view
    return view


def registry_resource_ids(session: Session) -> set[int]:
    try:
        bureau = bureau_department(session)
    except InvalidInput:
        return set()
    return set(session.scalars(select(Resource.id).where(Resource.provider_id == bureau.id,
                                                         Resource.name.in_(RESOURCE_NAMES.values()))))


@service(mutates=True)
def ensure_registry_resource(session: Session, actor: Actor, kind: str) -> Resource:
    """The registry as the bureau's own resource (人口综合库, 法人综合库): its items are the
    registry's elements, so a new element extends it; conditional sharing for people."""
    from datong.catalog import service as catalog

    authorize(actor, "registry.build", Target("registry", kind))
    try:
        resource = registry_resource(session, kind)
    except NotFound:
        resource = None
    elements = elements_of(session, kind)
    if resource is not None and {i.name for i in resource.items} >= {e.name for e in elements}:
        return resource
    items = [{"name": KEY_NAMES[kind], "element": KEY_ELEMENT[kind], "key": kind}]
    items += [{"name": e.name, "element": e.identifier} for e in elements]
    data = ResourceIn(
        name=RESOURCE_NAMES[kind], provider=bureau_department(session).code, summary=SUMMARIES[kind],
        category="1", class_code="01" if kind == PERSON else "02", theme="人口" if kind == PERSON else "法人",
        keywords=["基础库", "人口库" if kind == PERSON else "法人库", "一人一档" if kind == PERSON else "一企一档"],
        sharing_type="conditional" if kind == PERSON else "unconditional",
        sharing_condition="用于办理政务服务事项时核验身份与基本信息，须说明事由和案卷号" if kind == PERSON else "",
        sharing_methods=["api", "subscription"], open_type="none", update_cycle="daily", items=items)
    if resource is None:
        return catalog.create_resource(session, actor, data=data)
    return catalog.update_resource(session, actor, code=resource.code,
                                   data=data.model_copy(update={"code": resource.code}))[0]


def is_built(session: Session, registry_id: int) -> bool:
    return session.scalar(select(Load.id).where(Load.resource_id == registry_id, Load.status == COMMITTED)
                          .limit(1)) is not None


def precedence_lists(session: Session) -> dict[str, list[str]]:
    return {p.element: list(p.departments) for p in session.scalars(select(Precedence))}


@service(mutates=True)
def set_precedence(session: Session, actor: Actor, *, element: str, departments: list[str]) -> Precedence:
    """The bureau's order of sources for an element whose authoritative source has no value."""
    authorize(actor, "registry.precedence", Target("registry", element))
    elem = session.scalar(select(DataElement).where(DataElement.identifier == element))
    if elem is None or not elem.base_registry:
        raise InvalidInput(field="element", reason=Term(N_("no registry uses this element")))
    known = set(session.scalars(select(Department.code).where(Department.code.in_(departments))))
    unknown = [d for d in departments if d not in known]
    if unknown:
        raise InvalidInput(field="departments", reason=Term(N_("unknown department")), value="、".join(unknown))
    row = session.get(Precedence, element) or Precedence(element=element)
    row.departments, row.set_by, row.set_at = list(dict.fromkeys(departments)), actor.name, utcnow()
    session.add(row)
    session.flush()
    append_event(session, actor=actor, action="registry.precedence", target=f"element:{element}",
                 detail={"departments": row.departments})
    return row


# --- reading a subject --------------------------------------------------------------------------


def kind_of(key: str) -> str:
    """Which registry a key belongs to: a credit code has letters among its first 17 characters."""
    text = (key or "").strip().upper()
    return ENTITY if len(text) == 18 and not text[:17].isdigit() else PERSON


def normalise_key(kind: str, key: str) -> str:
    """An ID number as people type it (15 digits upgraded, lower-case x) or a credit code."""
    if kind == PERSON:
        verdict = id_number.validate_id_number(key or "")
        if not verdict.valid:
            raise InvalidInput(field="id_number", reason=Term(N_("not a valid citizen ID number")), value=key)
    else:
        verdict = credit_code.validate_credit_code(key or "")
        if not verdict.valid:
            raise InvalidInput(field="credit_code", reason=Term(N_("not a valid unified social credit code")),
                               value=key)
    return verdict.normalised or (key or "").strip().upper()


def _subject(session: Session, kind: str, key: str) -> Subject | None:
    return session.scalar(select(Subject).where(Subject.kind == kind, Subject.key == key))


# A subject's read at the driver level (datong.db.snapshot), as sharing's reads are: the window
# reads an applicant's profile with every application, and through the ORM these small statements
# cost several times what the database does for them.
_SUBJECT_DOCUMENT = Prepared(select(Subject.id, Profile.attributes).outerjoin(Profile, Profile.subject_id == Subject.id)
                             .where(Subject.kind == bindparam("kind"), Subject.key == bindparam("key")))
_SUBJECT_LINKS = Prepared(select(Link.method, Link.suspect, Resource.code, func.count())
                          .join(Resource, Resource.id == Link.resource_id).where(Link.subject_id == bindparam("subject"))
                          .group_by(Link.method, Link.suspect, Resource.code))
_SOURCES = {dialect: Prepared(select(Resource.id, Resource.code, Resource.name, Department.code, Department.name)
                              .join(Department, Department.id == Resource.provider_id).where(clause))
            for dialect, clause in among(Resource.id, "ids").items()}


def _sources(session: Session, ids: set[int]) -> dict[int, tuple]:
    snapshot = snapshot_of(session)
    rows = snapshot.rows(_SOURCES[snapshot.dialect.name], {"ids": snapshot.values(sorted(ids))})
    return {r[0]: tuple(r[1:]) for r in rows}


def _provenance(session: Session, document: str | None, registry: RegistryView, shown: dict, plain: frozenset) -> dict:
    """For each attribute the caller sees (``document``: the subject's profile): the golden
    value's source and rule, the sources that agree, and every value that differs, masked as the
    attribute is."""
    items = {i.element: i for i in registry.items if i.element is not None and i.name in shown}
    if not items or document is None:
        return {}
    attributes = {e: doc for e, doc in json.loads(document).items() if e in items}
    ids = {doc["resource"] for doc in attributes.values() if doc.get("resource")}
    ids |= {r for doc in attributes.values() for r in doc["agree"]} | {
        x["resource"] for doc in attributes.values() for x in doc["differ"]}
    sources, overrides, out = _sources(session, ids), masking_of(session), {}

    def entry(value, x: dict, golden: bool, agrees: bool, rule: str | None, policy) -> dict:
        code, name, dept_code, dept_name = sources.get(x["resource"], ("", "", "", ""))
        return {"value": masking.mask(value, policy), "golden": golden, "rule": rule, "agrees": agrees,
                "resource": code, "resource_name": name, "department": dept_code, "department_name": dept_name,
                "load": x["load"], "as_of": x["as_of"], "record": x["record"]}

    for element, doc in attributes.items():
        item = items[element]
        policy = None if item.name in plain else masking.policy_for(element, item.sensitivity, overrides)
        rows = [entry(doc["value"], doc, True, True, doc["rule"], policy)] if doc.get("resource") else []
        rows += [entry(doc["value"], {"resource": r, "load": None, "as_of": None, "record": None}, False, True, None,
                       policy) for r in doc["agree"]]
        rows += [entry(x["value"], x, False, False, None, policy) for x in doc["differ"]]
        out[item.name] = rows
    return out


def _history(session: Session, subject_id: int, registry: RegistryView, shown: dict, plain: frozenset) -> list[dict]:
    items = {i.element: i for i in registry.items if i.element is not None and i.name in shown}
    overrides = masking_of(session)
    out = []
    for change in session.scalars(select(Change).where(Change.subject_id == subject_id, Change.element.in_(list(items)))
                                  .order_by(Change.id.desc()).limit(200)):
        item = items[change.element]
        policy = None if item.name in plain else masking.policy_for(change.element, item.sensitivity, overrides)
        out.append({"item": item.name, "old": masking.mask(change.old, policy), "new": masking.mask(change.new, policy),
                    "resource_id": change.resource_id, "load": change.load_id, "at": change.at.isoformat()})
    return out


def _operator_read(session: Session, actor: Actor, registry: RegistryView, number: str, purpose: str,
                   case_number: str | None) -> dict:
    authorize(actor, "registry.build", Target("registry", registry.code))
    purpose = required_purpose(purpose)
    payload = session.scalar(select(Record.payload).where(Record.resource_id == registry.id, Record.key == number))
    record_read(session, actor=actor, action="registry.read", target=f"resource:{registry.code}",
                subjects=[number] if payload else [], purpose=purpose, case_number=case_number)
    records = [{"key": number, **json.loads(payload)}] if payload else []
    return {"records": records, "grant": None, "last_updated": None}


@service(mutates=False, personal=True)
def read_subject(session: Session, actor: Actor, *, kind: str, key: str, purpose: str,
                 case_number: str | None = None, history: bool = True) -> dict:
    """A person's or company's golden record, read through sharing (the caller's grant on the
    registry resource, masking, one audit event), with provenance and history."""
    number = normalise_key(kind, key)
    registry = registry_view(session, kind)
    authorize(actor, "share.read", Target("resource", registry.code, registry.provider_id))
    if actor.kind == "system":  # the local operator's maintenance read: no grant, still audited
        result, plain = _operator_read(session, actor, registry, number, purpose, case_number), None
    else:
        result = read_records(session, actor, resource_code=registry.code, keys=[number], purpose=purpose,
                              case_number=case_number)
        grant = _grant_on(session, actor, registry.code)
        plain = grant.plain_items if grant else frozenset()
    if not result["records"]:
        raise NotFound(what=SUBJECT, key=number)
    record = result["records"][0]
    snapshot = snapshot_of(session)
    found = snapshot.rows(_SUBJECT_DOCUMENT, {"kind": kind, "key": number})
    subject, document = found[0] if found else (None, None)
    if plain is None:
        plain = frozenset(record)
    links = snapshot.rows(_SUBJECT_LINKS, {"subject": subject}) if subject else []
    return {
        "kind": kind, "key": number, "subject": subject, "resource": registry.code,
        "grant": result["grant"], "last_updated": result["last_updated"], "attributes": record,
        "provenance": _provenance(session, document, registry, record, plain) if subject else {},
        "history": _history(session, subject, registry, record, plain) if subject and history else [],
        "links": [{"method": m, "suspect": s, "resource": c, "records": n} for m, s, c, n in links],
    }


@service(mutates=False, personal=True)
def search_subjects(session: Session, actor: Actor, *, kind: str, name: str, birth: date | None = None,
                    purpose: str, case_number: str | None = None, limit: int = 20) -> dict:
    """People by name (and birth date), companies by name: matches read through sharing."""
    purpose = required_purpose(purpose)
    text = (name or "").strip()
    if not text:
        raise InvalidInput(field="name", reason=Term(N_("give a name to search for")))
    registry = registry_view(session, kind)
    authorize(actor, "share.read", Target("resource", registry.code, registry.provider_id))
    name_element = "DE0002" if kind == PERSON else "DE0011"
    golden = select(Name.subject_id).where(Name.element == name_element)
    golden = golden.where(Name.value == text) if kind == PERSON else golden.where(Name.value.contains(text))
    if birth is not None:
        born = select(Name.subject_id).where(Name.element == "DE0004", Name.value == birth.isoformat())
        golden = golden.where(Name.subject_id.in_(born))
    keys = list(session.scalars(select(Subject.key).where(Subject.id.in_(golden)).order_by(Subject.key)
                                .limit(min(max(limit, 1), 100))))
    if not keys:  # still a read under a grant: refused without one, audited with one
        return read_records(session, actor, resource_code=registry.code, keys=[], purpose=purpose,
                            case_number=case_number)
    return read_records(session, actor, resource_code=registry.code, keys=keys, purpose=purpose,
                        case_number=case_number)


# --- the review queue ---------------------------------------------------------------------------


def _review_target(session: Session) -> Target:
    return Target("registry", "review", bureau_department(session).id)


def _sides(session: Session, review: Review, registry_items: dict[str, str]) -> dict:
    record = session.scalar(select(Record.payload).where(Record.resource_id == review.resource_id,
                                                         Record.key == review.record_key))
    document = session.scalar(select(Profile.attributes).where(Profile.subject_id == review.subject_id))
    golden = {e: doc["value"] for e, doc in json.loads(document or "{}").items()}
    return {"record_values": json.loads(record) if record else {},
            "subject_values": {registry_items.get(e, e): v for e, v in golden.items()}}


@service(mutates=False, personal=True)
def list_reviews(session: Session, actor: Actor, *, kind: str, status: str | None = PENDING, limit: int = 50,
                 offset: int = 0) -> dict:
    """The steward's queue, with both sides of each pair. Seeing them is a read of personal data."""
    authorize(actor, "registry.review", _review_target(session))
    stmt = (select(Review, Subject.key, Resource.code, Resource.name).join(Subject, Subject.id == Review.subject_id)
            .join(Resource, Resource.id == Review.resource_id).where(Review.kind == kind))
    if status:
        stmt = stmt.where(Review.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.execute(stmt.order_by(Review.probability.desc(), Review.id).limit(limit).offset(offset)).all()
    names = {e.identifier: e.name for e in elements_of(session, kind)}
    items = [{"id": r.id, "resource": code, "resource_name": name, "record_key": r.record_key, "subject": key,
              "probability": round(r.probability, 4), "reason": r.reason, "status": r.status, "note": r.note,
              "decided_by": r.decided_by, "decided_at": r.decided_at.isoformat() if r.decided_at else None,
              **_sides(session, r, names)} for r, key, code, name in rows]
    if items:
        record_read(session, actor=actor, action="registry.review.read", target=f"registry:{kind}",
                    subjects=[i["subject"] for i in items], purpose="人工复核关联",
                    detail={"reviews": [i["id"] for i in items]})
    return {"total": total, "items": items}


@service(mutates=True)
def decide_review(session: Session, actor: Actor, *, review_id: int, same: bool, note: str = "") -> Review:
    """Same or different: kept, and it outranks the model (and the ID) in every later build."""
    authorize(actor, "registry.review", _review_target(session))
    review = session.get(Review, review_id)
    if review is None:
        raise NotFound(what=REVIEW, key=str(review_id))
    review.status, review.note = SAME if same else DIFFERENT, note.strip()[:2000]
    review.decided_by, review.decided_at = actor.name, utcnow()
    subject = session.get(Subject, review.subject_id)
    append_event(session, actor=actor, action="registry.review.decide", target=f"review:{review.id}",
                 subjects=[subject.key], detail={"status": review.status, "resource_id": review.resource_id,
                                                 "record": review.record_key, "reason": review.reason})
    return review


@service(mutates=True)
def relink(session: Session, actor: Actor, *, kind: str, resource_code: str, record_key: str, key: str,
           same: bool, note: str = "") -> Review:
    """A steward links a record to a subject (merge) or takes it away (unlink) directly."""
    authorize(actor, "registry.review", _review_target(session))
    number = normalise_key(kind, key)
    resource = session.scalar(select(Resource).where(Resource.code == resource_code))
    if resource is None:
        raise NotFound(what=Term(N_("Resource")), key=resource_code)
    if session.scalar(select(Record.id).where(Record.resource_id == resource.id, Record.key == record_key)) is None:
        raise NotFound(what=Term(N_("Record")), key=record_key)
    subject = _subject(session, kind, number)
    if subject is None:
        raise NotFound(what=SUBJECT, key=number)
    review = session.scalar(select(Review).where(Review.resource_id == resource.id, Review.record_key == record_key,
                                                 Review.subject_id == subject.id))
    if review is None:
        review = Review(kind=kind, resource_id=resource.id, record_key=record_key, subject_id=subject.id,
                        probability=1.0 if same else 0.0, reason="steward")
        session.add(review)
        session.flush()
    return decide_review(session, actor, review_id=review.id, same=same, note=note)


# --- statistics ---------------------------------------------------------------------------------


@service(mutates=False)
def registry_stats(session: Session, actor: Actor, *, kind: str) -> dict:
    """Subjects, coverage of each attribute, share of each source's records linked (as of the last
    full build), open disagreements and the review queue. Counts only: no personal data."""
    authorize(actor, "registry.stats", Target("registry", kind))
    subjects = session.scalar(select(func.count()).select_from(Subject).where(Subject.kind == kind)) or 0
    build = session.scalar(select(Build).where(Build.kind == kind, Build.mode == "full").order_by(Build.id.desc())
                           .limit(1))
    figures = build.figures if build else {}
    names = {e.identifier: e.name for e in elements_of(session, kind)}
    coverage, built_subjects = figures.get("coverage", {}), figures.get("subjects", 0)
    ids = select(Subject.id).where(Subject.kind == kind).scalar_subquery()
    suspects = session.scalar(select(func.count()).select_from(Link).where(Link.subject_id.in_(ids),
                                                                           Link.suspect.is_not(None))) or 0
    sources = []
    linked = {int(r): n for r, n in figures.get("linked", {}).items()}
    for rid in sorted(set(linked) - registry_resource_ids(session)):
        resource = session.get(Resource, rid)
        if resource is None:
            continue
        total = session.scalar(select(func.count()).select_from(Record).where(Record.resource_id == rid)) or 0
        sources.append({"resource": resource.code, "name": resource.name, "department": resource.provider.name,
                        "records": total, "linked": linked[rid], "share": round(linked[rid] / total, 4) if total else 0})
    reviews = dict(session.execute(select(Review.status, func.count()).where(Review.kind == kind)
                                   .group_by(Review.status)).all())
    issues = session.scalar(select(func.count()).select_from(QualityIssue).where(
        QualityIssue.kind == REGISTRY_ISSUE, QualityIssue.state != "closed",
        QualityIssue.rule.like(f"%:registry:{kind}"))) or 0
    return {"kind": kind, "subjects": subjects, "built_at": build.finished_at.isoformat() if build else None,
            "coverage": [{"element": e, "name": n, "subjects": coverage.get(e, 0),
                          "share": round(coverage.get(e, 0) / built_subjects, 4) if built_subjects else 0}
                         for e, n in names.items()],
            "rules": figures.get("rules", {}), "methods": figures.get("methods", {}), "wrong_ids": suspects,
            "sources": sources, "reviews": {"pending": reviews.get(PENDING, 0), "same": reviews.get(SAME, 0),
                                            "different": reviews.get(DIFFERENT, 0)},
            "open_disagreements": issues}


# --- disagreements become rectification issues -----------------------------------------------------


def record_disagreements(session: Session, kind: str, registry_code: str, items: dict[str, str],
                         found: dict[tuple[int, str], tuple[int, list]], resource_ids: list[int],
                         item_names: dict[tuple[int, str], str]) -> None:
    """Open, update or close one issue per (source resource, item) whose values disagree with
    golden values from the authoritative source. The samples name the registry resource as the
    source of the expected value, so who may see it is decided by the grants on it."""
    from datong.quality.service import CLOSED, OPEN, REOPENED
    from datong.quality.service import note_issue as _note

    rule_of = {(rid, e): f"{item_names.get((rid, e), e)}:registry:{kind}" for rid, e in found}
    existing = {(i.resource_id, i.rule): i for i in session.scalars(select(QualityIssue).where(
        QualityIssue.kind == REGISTRY_ISSUE, QualityIssue.rule.like(f"%:registry:{kind}")))}
    deadline = date.today() + timedelta(days=int(session.info.get("issue_deadline_days", 15)))
    by = f"registry:{kind}"
    for (rid, element), (count, samples) in found.items():
        item = item_names.get((rid, element), element)
        shown = [{"row": None, "key": s["key"], "value": s["value"], "reason": "registry_disagrees",
                  "detail": f"{s['golden']} ({registry_code})", "source": registry_code,
                  "source_item": items.get(element, element)} for s in samples]
        issue = existing.get((rid, rule_of[(rid, element)]))
        if issue is None:
            resource = session.get(Resource, rid)
            issue = QualityIssue(resource_id=rid, department_id=resource.provider_id, rule=rule_of[(rid, element)],
                                 item=item, kind=REGISTRY_ISSUE, severity="warn", state=OPEN, deadline=deadline,
                                 history=[{"at": utcnow().isoformat(timespec="seconds"), "by": by, "from": None,
                                           "to": OPEN, "note": f"{count}"}])
            session.add(issue)
        elif issue.state == CLOSED:
            _note(issue, REOPENED, by, f"{count}")
            issue.deadline, issue.closed_at = deadline, None
        issue.failing, issue.samples, issue.updated_at = count, shown, utcnow()
    current = set(rule_of.values())
    for (rid, rule), issue in existing.items():
        if rule not in current and issue.state != CLOSED and rid in resource_ids:
            issue.failing, issue.samples = 0, []
            _note(issue, CLOSED, by, "0")
    session.flush()


__all__ = [
    "KINDS",
    "decide_review",
    "ensure_registry_resource",
    "list_reviews",
    "read_subject",
    "registry_stats",
    "relink",
    "search_subjects",
    "set_precedence",
]
