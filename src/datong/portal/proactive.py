"""Proactive services (主动服务, 精准推送): the hub tells people what they are entitled to or must
do, before they ask, from registry and licence data. Each rule writes a notice to the portal
inbox that says why the person received it; a notice is written once per occasion (a unique
constraint on holder and occasion, so two workers never send it twice), and the texts go out
through the sender afterwards, outside any transaction.

- **birth**: a committed load that adds birth records (a resource with 医学出生证明编号) offers
  出生一件事 to each parent it names;
- **age**: a person who turned the age that an item's automatic rules ask for (高龄津贴: 80) in
  the last year, alive in the registry, has the item opened and decided for them, and is told;
- **expiry**: a licence in force that expires within 30 days: the holder is reminded to renew it;
- **annual report**: from January to June, each company in the legal-entity registry that is in
  business and was founded before this year is reminded of its annual report (企业年报, due 30 June).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import String, exists, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datong import events
from datong.db.base import utcnow
from datong.registry.spec import ENTITY, PERSON
from datong.security.audit import append_event
from datong.security.authz import Actor
from datong.services.models import Bundle, Notice, ServiceItem

log = logging.getLogger(__name__)
PROACTIVE = Actor.system("proactive")
BIRTH_BUNDLE = "YJS-CS"  # 出生一件事, offered to a newborn's parents
EXPIRY_DAYS = 30
BATCH = 500
CLOSED_STATES = ("注销", "吊销", "撤销", "迁出")


@dataclass(frozen=True)
class Offer:
    holder: str
    occasion: str
    kind: str
    text: str
    why: str
    link: str | None = None


def write(session: Session, offers: list[Offer]) -> int:
    """Write the offers not yet written (one per holder and occasion); returns how many were new."""
    if not offers:
        return 0
    seen = set(session.execute(select(Notice.holder_key, Notice.occasion).where(
        Notice.occasion.in_({o.occasion for o in offers}))).all())
    fresh = [o for o in {(o.holder, o.occasion): o for o in offers}.values() if (o.holder, o.occasion) not in seen]
    for offer in fresh:
        try:
            with session.begin_nested():  # another worker may have written it since: skip that one
                session.execute(insert(Notice), {"holder_key": offer.holder, "occasion": offer.occasion,
                                                 "kind": offer.kind, "text": offer.text, "why": offer.why,
                                                 "link": offer.link, "at": utcnow()})
        except IntegrityError:
            fresh.remove(offer)
    if fresh:
        append_event(session, actor=PROACTIVE, action="portal.proactive", target="notices",
                     subjects=sorted({o.holder for o in fresh}),
                     detail={"kinds": sorted({o.kind for o in fresh}), "notices": len(fresh)})
    return len(fresh)


def _registry_values(session: Session, kind: str, keys: list[str]) -> dict[str, dict[str, str]]:
    """Golden values by element for these subjects, from the registry's own resource."""
    from datong.registry.service import registry_resource
    from datong.store.models import Record

    registry = registry_resource(session, kind)
    elements = {i.name: i.element.identifier for i in registry.items if i.element is not None}
    rows = session.execute(select(Record.key, Record.payload).where(Record.resource_id == registry.id,
                                                                    Record.key.in_(keys))).all()
    return {key: {elements[n]: v for n, v in json.loads(payload).items() if n in elements and v not in (None, "")}
            for key, payload in rows}


# --- birth: from the load that adds birth records ---------------------------------------------------

@events.consumer(events.LOAD_COMMITTED, "portal.proactive.birth")
def offer_birth_bundle(session: Session, payload: dict, database) -> None:
    from datong.catalog.models import Resource
    from datong.registry.service import registry_resource_ids
    from datong.store.models import Record

    resource = session.get(Resource, payload.get("resource"))
    bundle = session.scalar(select(Bundle).where(Bundle.code == BIRTH_BUNDLE))
    if resource is None or bundle is None or resource.id in registry_resource_ids(session):
        return  # the registry's own update repeats the births its sources recorded
    elements = {i.name: i.element.identifier for i in resource.items if i.element is not None}
    if "DE0022" not in elements.values():
        return
    parents = [name for name, element in elements.items() if element == "DE0001"]
    offers = []
    for key, body in session.execute(select(Record.key, Record.payload).where(
            Record.resource_id == resource.id, Record.load_id == payload.get("load"), Record.version == 1)):
        record = json.loads(body)
        for item in parents:
            parent = str(record.get(item) or "").strip().upper()
            if len(parent) == 18:
                offers.append(Offer(parent, f"birth:{resource.code}:{key}", "proactive.birth",
                                    f"恭喜您喜添新丁！新生儿的出生医学证明已签发，可一次办理{bundle.name}：出生登记、医保参保、社保卡等，无需再跑。",
                                    f"{resource.name}记录了一名新生儿，您是其父母之一（{item}）。", f"/me/apply/bundle/{bundle.code}"))
    write(session, offers)


# --- the daily rules ---------------------------------------------------------------------------------

def _age_items(session: Session) -> list[tuple[ServiceItem, int]]:
    return [(item, int(rule["value"])) for item in session.scalars(select(ServiceItem).where(ServiceItem.active))
            for rule in item.auto_rules or [] if rule.get("op") == "age_at_least" and str(rule.get("value", "")).isdigit()]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _turned(session: Session, item: ServiceItem, age: int, today: date) -> list[str]:
    """People who reached ``age`` in the last year and were not yet told of ``item``."""
    from datong.registry.models import Name, Subject

    latest, earliest = _years_before(today, age), _years_before(today, age + 1) + timedelta(days=1)
    told = exists().where(Notice.holder_key == Subject.key, Notice.kind == "proactive.age",
                          Notice.occasion == literal(f"age:{item.code}:", String) + Subject.key)
    keys = session.scalars(select(Subject.key).join(Name, Name.subject_id == Subject.id).where(
        Subject.kind == PERSON, Name.element == "DE0004", Name.value >= earliest.isoformat(),
        Name.value <= latest.isoformat(), ~told).order_by(Subject.key).limit(BATCH))
    return list(keys)


def decide_for_elders(database, today: date) -> int:
    """Open and decide the age-triggered items for the people who qualify; one notice each."""
    from datong.services import flows, intake

    with database.reading() as session:
        work = [(item.code, item.name, age, _turned(session, item, age, today)) for item, age in _age_items(session)]
        alive = {key for _, _, _, keys in work for key, values in _registry_values(session, PERSON, keys).items()
                 if not values.get("DE0017")}
    done = 0
    for code, name, age, keys in work:
        for key in (k for k in keys if k in alive):
            try:
                number = flows.open_case(database, PROACTIVE, applicant=key, item=code, channel="online")
                with database.unit_of_work() as session:
                    case = intake.accept_case(session, PROACTIVE, number=number)
                    outcome = "已自动办结" if case.automatic else "已转工作人员审核"
                    done += write(session, [Offer(key, f"age:{code}:{key}", "proactive.age",
                                                  f"您已年满{age}周岁，系统已为您申请{name}（{number}），{outcome}，无需提交材料。",
                                                  f"人口综合库记载您的出生日期，您于近一年内年满{age}周岁。",
                                                  "/me/cases")])
            except Exception:
                log.exception("proactive %s for one person failed; the next sweep retries", code)
    return done


def remind_expiring(session: Session, today: date) -> int:
    from datong.licenses.models import VALID, Licence

    rows = session.scalars(select(Licence).where(Licence.status == VALID, Licence.valid_until.is_not(None),
                                                 Licence.valid_until >= today,
                                                 Licence.valid_until <= today + timedelta(days=EXPIRY_DAYS))
                           .order_by(Licence.valid_until).limit(BATCH * 4))
    return write(session, [Offer(lic.holder_key, f"expiry:{lic.identifier}", "proactive.expiry",
                                 f"您的{lic.type.name}将于{lic.valid_until.isoformat()}到期，请及时申请换发。",
                                 f"证照库中您的{lic.type.name}有效期至{lic.valid_until.isoformat()}，不足{EXPIRY_DAYS}天。",
                                 "/me/licences") for lic in rows])


def remind_annual_report(session: Session, today: date) -> int:
    from datong.registry.models import Subject

    if today.month > 6:
        return 0
    occasion = f"annual:{today.year}"
    told = exists().where(Notice.holder_key == Subject.key, Notice.occasion == occasion)
    keys = list(session.scalars(select(Subject.key).where(Subject.kind == ENTITY, ~told).order_by(Subject.key)
                                .limit(BATCH * 4)))
    offers = []
    for key, values in _registry_values(session, ENTITY, keys).items():
        founded, state = str(values.get("DE0014") or ""), str(values.get("DE0026") or "")
        if founded and founded < f"{today.year}-01-01" and not any(s in state for s in CLOSED_STATES):
            offers.append(Offer(key, occasion, "proactive.annual_report",
                                f"请于{today.year}年6月30日前报送{today.year - 1}年度企业年度报告。",
                                f"法人综合库记载贵单位成立于{founded}、登记状态为{state or '存续'}，须按年报送年度报告。"))
    return write(session, offers)


def text_pending(database, sender, *, limit: int = 200) -> int:
    """Send the proactive notices not yet texted to the phone the registry holds (people only)."""
    with database.reading() as session:
        pending = session.execute(select(Notice.id, Notice.holder_key, Notice.text).where(
            Notice.occasion.is_not(None), Notice.texted_at.is_(None)).order_by(Notice.id).limit(limit)).all()
        phones = {k: v.get("DE0009") for k, v in _registry_values(session, PERSON, [p[1] for p in pending]).items()}
    sent = []
    for notice_id, key, text in pending:
        if phones.get(key):
            try:
                sender.send(str(phones[key]), f"【数通】{text}")
            except Exception:  # noqa: BLE001 - the gateway may be down: the notice stays for the next round
                log.warning("a proactive text could not be sent; it will be retried")
                break
        sent.append(notice_id)  # in the inbox either way; a person with no phone on record is not texted
    if sent:
        with database.unit_of_work() as session:
            session.execute(update(Notice).where(Notice.id.in_(sent)).values(texted_at=utcnow()))
    return len(sent)


def sweep(database, sender, *, today: date | None = None) -> dict[str, int]:
    """Run the daily rules, then send the texts; returns how many notices each rule wrote."""
    today = today or date.today()
    counts = {"age": decide_for_elders(database, today)}
    with database.unit_of_work() as session:
        counts["expiry"] = remind_expiring(session, today)
        counts["annual_report"] = remind_annual_report(session, today)
    counts["texted"] = text_pending(database, sender)
    return counts
