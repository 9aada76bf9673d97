"""Intake at the comprehensive window (一窗受理): a case is opened for an applicant and an item or a
bundle, its form filled from the registry and the applicant's licences (each value with its
source), its materials fetched where the hub holds them; the clerk records the applicant's
authorisation, attaches what must still be brought, and accepts or refuses. Every read of the
applicant's data goes through sharing and the licence library, audited with the case number."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from datong.codes import validate_credit_code, validate_id_number
from datong.codes.verdict import REASONS
from datong.db.base import utcnow
from datong.db.engine import once_per_transaction
from datong.db.writes import add_as_loaded, write_now
from datong.errors import DatongError, InvalidInput, NotFound
from datong.i18n import N_, Message, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.services import flows
from datong.services.calendar import add_working_days
from datong.services.models import DRAFT, REFUSED, Attachment, Bundle, Case, ServiceItem
from datong.services.service import (
    HUB_SOURCES,
    get_bundle,
    get_items,
    intake_definitions,
    merged_fields,
)

CASE = Term(N_("Case"))
MAX_ATTACHMENT = 10 * 1024 * 1024
#: What an attachment may be, by its first bytes (the declared type is not trusted).
MAGIC = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
CONSENT_DAYS = 30


class NotReady(DatongError):
    status = 409
    code = "case_not_ready"
    message = N_("Case {number} cannot be accepted yet: {missing}. Fill them in or attach them, then accept.")


def track_code(session: Session, number: str) -> str:
    """The code printed on the receipt's QR that lets anyone holding it follow the case."""
    secret = session.info.get("deployment_secret") or ""
    return hmac.new(secret.encode(), f"track:{number}".encode(), hashlib.sha256).hexdigest()[:16]


def _applicant(kind: str, key: str) -> str:
    verdict = (validate_id_number if kind == "person" else validate_credit_code)(key or "")
    if not verdict.valid:
        raise InvalidInput(field="applicant", reason=Message(REASONS[verdict.reason], **verdict.params))
    return verdict.normalised or key.strip().upper()


def _authorize_applicant(actor: Actor, key: str) -> None:
    """Staff take in applications for their department; an applicant online applies for themselves."""
    if actor.kind == "holder":
        authorize(actor, "case.own", Target("holder", key))
    else:
        authorize(actor, "case.intake", Target("case", key, actor.department_id))


class NotOnline(DatongError):
    status = 409
    code = "not_online"
    message = N_("{what} cannot be applied for online yet. Apply at a service window; the guide says which.")


def _number(session: Session) -> str:
    from datong.licenses.service import take_numbers

    today = date.today().strftime("%Y%m%d")
    return f"YC{today}{take_numbers(session, f'case:{today}', 1):06d}"


def _prefill_profile(session: Session, actor: Actor, kind: str, key: str, number: str, purpose: str) -> tuple[dict, dict]:
    """The golden record through sharing: {element: value}, {element: source}."""
    from datong.registry import service as registry
    from datong.sharing.service import NoGrant

    try:
        profile = registry.read_subject(session, actor, kind=kind, key=key, purpose=purpose, case_number=number,
                                        history=False)
    except (NoGrant, NotFound):
        return {}, {}
    items = {i.name: i.element for i in registry.registry_view(session, kind).items if i.element}
    values, sources = {}, {}
    for name, value in profile["attributes"].items():
        element = items.get(name)  # an empty golden value is the register's answer too (no date of death)
        if element is None:
            continue
        rows = profile["provenance"].get(name) or []
        golden = next((r for r in rows if r["golden"]), None)
        values[element] = "" if value is None else value
        sources[element] = {"kind": "registry", "label": f"{golden['department_name']}·{golden['resource_name']}"
                            if golden else registry.RESOURCE_NAMES[kind], "department": golden and golden["department"],
                            "resource": golden and golden["resource"], "as_of": golden and golden["as_of"],
                            "conflict": any(not r["agrees"] for r in rows)}
    return values, sources


def licence_types_of(items: list[ServiceItem]) -> list[str]:
    """The licence types an application's fields and materials are filled from."""
    codes = [f["licence"].partition(":")[0] for i in items for f in i.fields if f.get("licence")]
    codes += [m["licence_type"] for i in items for m in i.materials if m["source"] == "licence"]
    return list(dict.fromkeys(codes))


def _licences(session: Session, actor: Actor, key: str, number: str, purpose: str, types: list[str]) -> list[dict]:
    """The applicant's licences of these types in force (none read when the items need none)."""
    from datong.licenses.holders import use_holder_licences
    from datong.licenses.service import NoAuthorisation

    if not types:
        return []
    try:
        return use_holder_licences(session, actor, holder_key=key, purpose=purpose, case_number=number,
                                   type_codes=types)
    except NoAuthorisation:
        return []


def _fill(fields: list[dict], profile: dict, sources: dict, licences: list[dict]) -> tuple[dict, dict]:
    form, where = {}, {}
    by_type = {lic["type_code"]: lic for lic in licences}
    for f in fields:
        if f.get("licence"):
            code, _, name = f["licence"].partition(":")
            lic = by_type.get(code)
            if lic and lic["data"].get(name) not in (None, ""):
                form[f["name"]] = lic["data"][name]
                where[f["name"]] = {"kind": "licence", "label": f"{lic['issuer']}·{lic['type']}",
                                    "licence": lic["identifier"]}
                continue
        if f.get("element") and f["element"] in profile:
            form[f["name"]], where[f["name"]] = profile[f["element"]], dict(sources[f["element"]])
        else:
            form[f["name"]], where[f["name"]] = "", {"kind": "applicant", "label": None}
    return form, where


def _shared(session: Session, actor: Actor, resource: str, key: str, number: str, purpose: str) -> bool:
    from datong.sharing.service import NoGrant, read_records

    try:
        return bool(read_records(session, actor, resource_code=resource, keys=[key], purpose=purpose,
                                 case_number=number)["records"])
    except (NoGrant, NotFound):
        return False


def _materials(session: Session, actor: Actor, item: ServiceItem, key: str, number: str, purpose: str,
               licences: list[dict]) -> list[dict]:
    held = {lic["type_code"]: lic["identifier"] for lic in licences}
    out = []
    for m in item.materials:
        entry = {**m, "by": None, "hub": m["source"] in HUB_SOURCES}
        if m["source"] == "licence" and m["licence_type"] in held:
            entry["by"] = held[m["licence_type"]]
        elif m["source"] == "shared" and _shared(session, actor, m["resource"], key, number, purpose):
            entry["by"] = m["resource"]
        elif m["source"] == "licence":
            entry["hub"] = False  # the applicant holds no such licence in force: they bring the paper
        out.append(entry)
    return out


@dataclass(frozen=True)
class Application:
    """What an intake is for, once its number is taken: who applies, for which items. ``read``:
    the items and bundle as the number's transaction read them, which the intake's next two
    transactions (milliseconds later, in the same request) use instead of reading them again."""

    number: str
    kind: str
    key: str
    items: tuple[str, ...]
    bundle: str | None
    name: str
    channel: str
    authorised: bool
    read: tuple = field(default=(), compare=False, repr=False)

    @property
    def purpose(self) -> str:
        return f"办理{self.name}"

    def definitions(self, session: Session, *, merge: bool = True) -> tuple[list[ServiceItem], Bundle | None]:
        """The items and the bundle, in this transaction's lookups too (see ``get_items``): copied
        into the session as they were read (``merge`` without loading: no statement), so that
        the cases made here find them as the ORM would have loaded them. ``merge=False``, for a
        transaction that only reads what they say (the prefill): the objects as they were read,
        every column and the department loaded, not copied."""
        if self.read:
            items, group = self.read

            def copied(row, known):
                """``row`` as this session holds it: merged once (where an earlier read only looked)."""
                if known is not None and (not merge or known in session):
                    return known
                return session.merge(row, load=False) if merge else row

            found = session.info.setdefault("service_items", {})
            for code, row in zip(self.items, items):
                found[code] = copied(row, found.get(code))
            if group is not None:
                bundles = session.info.setdefault("service_bundles", {})
                bundles[self.bundle] = copied(group, bundles.get(self.bundle))
        return get_items(session, list(self.items)), get_bundle(session, self.bundle) if self.bundle else None


@dataclass(frozen=True)
class Prefill:
    """What the hub read for an application: the form with each value's source, and each item's
    materials with what supplies them."""

    form: dict
    sources: dict
    materials: dict  # item code → materials
    applicant_name: str
    licences: int


@service(mutates=True)
def reserve_case(session: Session, actor: Actor, *, applicant: str, item: str | None = None,
                 bundle: str | None = None, channel: str = "window", authorised: bool = False) -> Application:
    """The case's number, and the applicant's authorisation recorded if they gave it (one short write)."""
    if (item is None) == (bundle is None):
        raise InvalidInput(field="item", reason=Term(N_("apply for one item or one bundle")))
    items, group = intake_definitions(session, item=item, bundle=bundle)
    kind = items[0].applicant_kind
    key = _applicant(kind, applicant)
    _authorize_applicant(actor, key)
    offline = [i.name for i in items if not i.online]
    if actor.kind == "holder" and offline:
        raise NotOnline(what="、".join(offline))
    if channel not in ("window", "online", "api"):
        raise InvalidInput(field="channel", reason=Term(N_("window, online or api")))
    application = Application(_number(session), kind, key, tuple(i.code for i in items), group.code if group else None,
                              group.name if group else items[0].name, channel, authorised, (items, group))
    if authorised and actor.kind in ("user", "client"):
        from datong.licenses.holders import give_consent

        give_consent(session, actor, holder_key=key, department=actor.department_code,
                     purpose=f"{application.purpose}（{application.number}）", days=CONSENT_DAYS)
    return application


@service(mutates=False, personal=True)
def prefill(session: Session, actor: Actor, *, application: Application) -> Prefill:
    """Read the applicant's profile, licences and shared materials (each read audited with the
    case number); a read transaction is enough."""
    _authorize_applicant(actor, application.key)
    items, group = application.definitions(session, merge=False)
    fields = merged_fields(session, group) if group else items[0].fields
    reader = Actor.system("one-window") if actor.kind == "holder" else actor  # a holder reads their own data
    number, key, purpose = application.number, application.key, application.purpose
    profile, sources = (_prefill_profile(session, reader, application.kind, key, number, purpose)
                        if any(f.get("element") for f in fields) else ({}, {}))
    licences = _licences(session, reader, key, number, purpose, licence_types_of(items))
    form, where = _fill(fields, profile, sources, licences)
    materials = {i.code: _materials(session, reader, i, key, number, purpose, licences) for i in items}
    name = str(profile.get("DE0002" if application.kind == "person" else "DE0011") or "")
    return Prefill(form, where, materials, name, len(licences))


@service(mutates=True)
def create_case(session: Session, actor: Actor, *, application: Application, filled: Prefill,
                window: str | None = None) -> Case:
    """The draft case (and one per item of a bundle) with what the hub filled in."""
    _authorize_applicant(actor, application.key)
    items, group = application.definitions(session)
    common = {"applicant_kind": application.kind, "applicant_key": application.key, "applicant_name": filled.applicant_name,
              "channel": application.channel, "window": window, "department_id": actor.department_id, "status": DRAFT,
              "created_by": actor.name}
    case = Case(number=application.number, item_id=None if group else items[0].id, bundle_id=group.id if group else None,
                form=filled.form, sources=filled.sources, materials=[] if group else filled.materials[items[0].code],
                **common)
    add_as_loaded(session, [case])
    children = [Case(number=f"{application.number}-{n:02d}", item_id=child_item.id, parent_id=case.id,
                     form={f["name"]: filled.form.get(f["name"], "") for f in child_item.fields},
                     sources={f["name"]: filled.sources.get(f["name"]) for f in child_item.fields},
                     materials=filled.materials[child_item.code], **common)
                for n, child_item in enumerate(items if group else [], start=1)]
    add_as_loaded(session, children)
    session.info.setdefault("case_children", {})[case.id] = children  # in id order, as case_children reads them
    flows.record(session, case, actor, "opened", {"authorised": application.authorised, "licences": filled.licences,
                                                      "filled": sum(1 for w in filled.sources.values()
                                                                    if w and w["kind"] != "applicant")})
    return case


@service(mutates=True, personal=True)
def open_case(session: Session, actor: Actor, *, applicant: str, item: str | None = None, bundle: str | None = None,
              channel: str = "window", window: str | None = None, authorised: bool = False) -> Case:
    """A draft case with its form filled from authoritative data, in the caller's transaction.
    ``authorised``: the applicant has authorised the window's department to use their licences
    for this application. (``flows.open_case`` does the same in three short transactions.)"""
    application = reserve_case(session, actor, applicant=applicant, item=item, bundle=bundle, channel=channel,
                               authorised=authorised)
    _authorize_applicant(actor, application.key)
    return create_case(session, actor, application=application, filled=prefill(session, actor, application=application),
                       window=window)


def case_children(session: Session, case: Case) -> list[Case]:
    """A bundle's cases, one per item (none for a single item's case); read once per transaction
    (children are only ever added with their parent, in ``create_case``)."""
    return once_per_transaction(session, "case_children", case.id, lambda: list(
        session.scalars(select(Case).where(Case.parent_id == case.id).order_by(Case.id))))


def find_case(session: Session, number: str, *, lock: bool = False) -> Case:
    query = select(Case).where(Case.number == number.strip())
    if lock and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=Case)
    case = session.scalar(query)
    if case is None:
        raise NotFound(what=CASE, key=number)
    return case


# A case and its bundle's cases, built once (the form and acceptance read them for every call).
_BUNDLE_OF = select(Case).where(or_(
    Case.number == bindparam("number"),
    Case.parent_id == select(Case.id).where(Case.number == bindparam("number")).scalar_subquery())).order_by(Case.id)
_BUNDLE_OF_LOCKED = _BUNDLE_OF.with_for_update(of=Case)


def _with_children(session: Session, number: str) -> Case:
    """A case and its bundle's cases in one statement, the whole bundle locked on PostgreSQL (its
    children are then at hand for ``case_children``): the form and acceptance change all of them."""
    number = number.strip()
    query = _BUNDLE_OF_LOCKED if session.bind.dialect.name == "postgresql" else _BUNDLE_OF
    found = list(session.scalars(query, {"number": number}))
    case = next((c for c in found if c.number == number), None)
    if case is None:
        raise NotFound(what=CASE, key=number)
    session.info.setdefault("case_children", {})[case.id] = [c for c in found if c is not case]
    return case


def _editable(session: Session, actor: Actor, number: str) -> Case:
    case = _with_children(session, number)
    flows.authorize_intake(actor, case)
    if case.status != DRAFT:
        raise flows.WrongCaseState(number=case.number, state=Term(flows.STATE_LABELS[case.status]))
    return case


@service(mutates=True)
def update_form(session: Session, actor: Actor, *, number: str, values: dict) -> Case:
    """The clerk corrects or completes the form; a value changed from its source is marked edited."""
    case = _editable(session, actor, number)
    fields = set(case.form)
    unknown = sorted(set(values) - fields)
    if unknown:
        raise InvalidInput(field="form", reason=Message(N_("the form has no field {fields}"), fields="、".join(unknown)))
    form, sources = dict(case.form), dict(case.sources)
    for name, value in values.items():
        text = "" if value is None else str(value).strip()[:2000]
        if text != form.get(name):
            form[name] = text
            sources[name] = {**(sources.get(name) or {"kind": "applicant"}), "edited": True}
    children, at = case_children(session, case), utcnow()
    write_now(session, [case, *children], ("form", "sources", "updated_at"), [(form, sources, at)] + [
        ({k: form.get(k, v) for k, v in child.form.items()}, {k: sources.get(k, v) for k, v in child.sources.items()}, at)
        for child in children])  # one statement for a bundle's cases
    flows.record(session, case, actor, "form", {"fields": sorted(values)})
    return case


def sniff(content: bytes) -> str | None:
    return next((kind for magic, kind in MAGIC.items() if content.startswith(magic)), None)


@service(mutates=True)
def attach(session: Session, actor: Actor, *, number: str, material: str, filename: str, content: bytes) -> Attachment:
    """A scanned or uploaded material: PDF, JPEG or PNG, at most 10 MB, checked by its bytes."""
    case = find_case(session, number, lock=True)
    flows.authorize_intake(actor, case)
    flows.require_open(case)
    targets = [c for c in [case, *case_children(session, case)] if any(m["name"] == material for m in c.materials)]
    if not targets:
        raise InvalidInput(field="material", reason=Message(N_("the case asks for no material {name}"), name=material))
    if not content or len(content) > MAX_ATTACHMENT:
        raise InvalidInput(field="file", reason=Message(N_("a file of 1 byte to {size} MB"), size=MAX_ATTACHMENT >> 20))
    media = sniff(content)
    if media is None:
        raise InvalidInput(field="file", reason=Message(N_("{file} is not a PDF, JPEG or PNG file"), file=filename))
    row = Attachment(case_id=case.id, material=material, filename=(filename or "upload")[:200], media_type=media,
                     size=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content,
                     uploaded_by=actor.name)
    session.add(row)
    session.flush()
    for target in targets:
        target.materials = [{**m, "by": f"attachment:{row.id}"} if m["name"] == material else m for m in target.materials]
    flows.record(session, case, actor, "attached", {"material": material, "size": row.size, "sha256": row.sha256})
    return row


def missing(case: Case, children: list[Case]) -> list[str]:
    """What stops acceptance: required fields without a value, required materials not supplied
    (a material another item of the bundle produces is supplied later, by that item)."""
    fields = {f["name"]: f for c in (children or [case]) for f in (c.item.fields if c.item else [])}
    out = [n for n, f in fields.items() if f["required"] and not str(case.form.get(n, "")).strip()]
    for c in children or [case]:
        out += [m["name"] for m in c.materials if m["required"] and not m.get("by") and m["source"] != "result"]
    return list(dict.fromkeys(out))


#: What acceptance (and the flow's start) changes of every case of a bundle.
ACCEPTED = ("status", "visits", "accepted_on", "due_on", "legal_due_on", "workflow", "updated_at")


@service(mutates=True)
def accept_case(session: Session, actor: Actor, *, number: str) -> Case:
    """受理: the application is complete; its review starts and its clock with it."""
    case = _editable(session, actor, number)
    children = case_children(session, case)
    gaps = missing(case, children)
    if gaps:
        raise NotReady(number=case.number, missing="、".join(gaps))
    today = date.today()
    for c in [case, *children]:  # the one visit to the window counts for each item of a bundle
        c.visits = 1 if case.channel == "window" else 0
        item = c.item
        days = item.promised_days if item else max(session.get(ServiceItem, ch.item_id).promised_days for ch in children)
        legal = item.legal_days if item else max(session.get(ServiceItem, ch.item_id).legal_days for ch in children)
        c.accepted_on, c.due_on, c.legal_due_on = today, add_working_days(today, days), add_working_days(today, legal)
    flows.record(session, case, actor, "accepted", {"due_on": case.due_on.isoformat(), "children": len(children)})
    append_event(session, actor=actor, action="case.accept", target=f"case:{case.number}", subjects=[case.applicant_key],
                 case_number=case.number, detail={"item": case.item.code if case.item else None,
                                                  "bundle": case.bundle.code if case.bundle else None})
    if children:
        flows.start_ready_children(session, case, children)
    else:
        flows.start(session, case)
    now = utcnow()
    for c in [case, *children]:
        c.updated_at = now
    write_now(session, [case, *children], ACCEPTED)  # one statement for a bundle's cases (see write_now)
    return case


@service(mutates=True)
def refuse_case(session: Session, actor: Actor, *, number: str, reason: str) -> Case:
    """不予受理, with the reason the applicant is told."""
    case = _editable(session, actor, number)
    if not reason.strip():
        raise InvalidInput(field="reason", reason=Term(N_("say why the application is not accepted")))
    case.status, case.reason = REFUSED, reason.strip()[:2000]
    for child in case_children(session, case):
        child.status, child.reason = REFUSED, case.reason
    flows.record(session, case, actor, "refused", {"reason": case.reason})
    flows.notice(session, case, "refused", f"您的申请（{case.number}）不予受理：{case.reason}")
    append_event(session, actor=actor, action="case.refuse", target=f"case:{case.number}", subjects=[case.applicant_key],
                 case_number=case.number, detail={"reason": case.reason})
    return case
