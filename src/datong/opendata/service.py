"""Publishing to the open-data portal (数据开放): what may be opened, datasets, and their use.

A resource's records are opened only if the catalog's open type allows it and none of its items
holds personal or sensitive data; a resource that does may be published as statistics (counts
by division and age band, small counts suppressed) instead. The files people download are built
from the store by :mod:`datong.opendata.files`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from datong.catalog.models import Resource
from datong.catalog.vocab import KeyKind, OpenType, Sensitivity
from datong.db.base import utcnow
from datong.db.paging import Found, Window, escape_like, window
from datong.errors import Conflict, DatongError, InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.opendata.models import PUBLISHED, RECORDS, STATISTICS, WITHDRAWN, OpenDataset, OpenUsage
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import Department

DATASET = Term(N_("Open dataset"))
RESOURCE = Term(N_("Resource"))
#: Licences a dataset may carry (SPDX identifiers), with the EU licence vocabulary's IRI.
LICENCES = {
    "CC-BY-4.0": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
    "CC0-1.0": "http://publications.europa.eu/resource/authority/licence/CC0",
    "CC-BY-SA-4.0": "http://publications.europa.eu/resource/authority/licence/CC_BYSA_4_0",
    "ODbL-1.0": "http://publications.europa.eu/resource/authority/licence/ODBL",
}
#: Element identifiers the statistics count by.
DIVISION, BIRTH_DATE, ID_NUMBER = "DE0007", "DE0004", "DE0001"
PERSONAL = (Sensitivity.SENSITIVE.value, Sensitivity.HIGHLY_SENSITIVE.value)


class PersonalData(DatongError):
    status = 422
    code = "personal_data"
    message = N_("{resource} cannot be opened: {items} hold personal or sensitive data. Publish its "
                 "statistics instead (counts by division and age band), or open a resource without these items.")


class NotOpenable(DatongError):
    status = 409
    code = "not_openable"
    message = N_("{resource} is catalogued as not open (不予开放). Change its open type in the catalog "
                 "before publishing its records.")


class NothingToCount(DatongError):
    status = 422
    code = "nothing_to_count"
    message = N_("{resource} has nothing to count by: statistics need an item with a division code, a "
                 "date of birth or a citizen ID number.")


class UnknownLicence(DatongError):
    status = 422
    code = "unknown_licence"
    message = N_("Unknown licence {licence}; choose one of {choices}.")


def slug(code: str) -> str:
    """A dataset's address: lower-case letters, digits, - and _ (as CKAN names are)."""
    return re.sub(r"[^a-z0-9_-]+", "-", code.lower()).strip("-")


@dataclass(frozen=True)
class Refusal:
    item: str
    reason: str  # person_key, sensitive, personal


def personal_items(resource: Resource) -> list[Refusal]:
    """The resource's items that keep its records off the portal, and why: a citizen ID as a key,
    a sensitive sensitivity, or a data element of the population registry (an attribute of a person)."""
    found = []
    for item in resource.items:
        element = item.element
        if item.key_kind == KeyKind.PERSON.value or (element is not None and element.key_kind == KeyKind.PERSON.value):
            found.append(Refusal(item.name, "person_key"))
        elif item.sensitivity in PERSONAL:
            found.append(Refusal(item.name, "sensitive"))
        elif element is not None and element.base_registry == "population":
            found.append(Refusal(item.name, "personal"))
    return found


def statistics_spec(resource: Resource) -> dict:
    """What statistics of the resource count by: a division-code item (or the first six digits of
    the citizen ID), and a date-of-birth item (or the ID's digits 7–14)."""
    by_element = {}
    for item in resource.items:
        if item.element is not None:
            by_element.setdefault(item.element.identifier, item.name)
    id_item = by_element.get(ID_NUMBER)
    spec = {"division": by_element.get(DIVISION), "birth": by_element.get(BIRTH_DATE), "id": id_item}
    if not (spec["division"] or spec["birth"] or id_item):
        raise NothingToCount(resource=resource.name)
    return spec


def _resource(session: Session, code: str) -> Resource:
    resource = session.scalar(select(Resource).where(Resource.code == code.strip()))
    if resource is None:
        raise NotFound(what=RESOURCE, key=code)
    return resource


def get_dataset(session: Session, code: str, *, published: bool = True) -> OpenDataset:
    stmt = select(OpenDataset).where(OpenDataset.code == code)
    if published:
        stmt = stmt.where(OpenDataset.status == PUBLISHED)
    dataset = session.scalar(stmt)
    if dataset is None:
        raise NotFound(what=DATASET, key=code)
    return dataset


@service(mutates=True)
def publish(session: Session, actor: Actor, *, resource_code: str, kind: str = RECORDS, licence: str = "CC-BY-4.0",
            contact_email: str = "", description: str | None = None, temporal: tuple[date, date] | None = None,
            spatial: str = "") -> OpenDataset:
    """Open a resource's records, or statistics derived from it, on the portal. Refused (and
    nothing written) if its open type is 不予开放 or, for records, any item holds personal data."""
    resource = _resource(session, resource_code)
    authorize(actor, "opendata.publish", Target("resource", resource.code, department_id=resource.provider_id))
    if licence not in LICENCES:
        raise UnknownLicence(licence=licence, choices=", ".join(LICENCES))
    if resource.withdrawn_at is not None:
        raise InvalidInput(field="resource", reason=Term(N_("it is withdrawn from the catalog")))
    if kind == RECORDS:
        if resource.open_type == OpenType.NONE.value:
            raise NotOpenable(resource=resource.name)
        refused = personal_items(resource)
        if refused:
            error = PersonalData(resource=resource.name, items="、".join(r.item for r in refused))
            # Rolled back with the transaction, then recorded on its own (Database._record_refusal).
            error.audit = {"actor": actor, "action": "open.publish", "target": f"resource:{resource.code}",
                           "outcome": "refused", "detail": {"items": [r.item for r in refused]}}
            error.refusals = refused
            raise error
        code, spec, access = slug(resource.code), {}, resource.open_type
        title = resource.name
    elif kind == STATISTICS:
        code, spec, access = slug(resource.code) + "-stats", statistics_spec(resource), OpenType.OPEN.value
        title = f"{resource.name}（统计）"
    else:
        raise NotOpenable(resource=resource.name)
    dataset = session.scalar(select(OpenDataset).where(OpenDataset.code == code))
    if dataset is not None and dataset.status == PUBLISHED:
        raise Conflict(what=DATASET, key=code)
    if dataset is None:
        dataset = OpenDataset(code=code, resource_id=resource.id, kind=kind)
        session.add(dataset)
    dataset.access, dataset.title, dataset.spec, dataset.licence = access, title, spec, licence
    dataset.description = description if description is not None else resource.summary
    dataset.contact_email, dataset.spatial = contact_email, spatial
    dataset.temporal_start, dataset.temporal_end = temporal or (None, None)
    dataset.status, dataset.published_by, dataset.published_at, dataset.withdrawn_at = (
        PUBLISHED, actor.name, utcnow(), None)
    session.flush()
    append_event(session, actor=actor, action="open.publish", target=f"open_dataset:{code}",
                 detail={"resource": resource.code, "kind": kind, "access": access, "licence": licence})
    return dataset


@service(mutates=True)
def withdraw(session: Session, actor: Actor, *, code: str, reason: str, items: list[str] | None = None) -> OpenDataset:
    """Take a dataset off the portal; ``items``: the items with personal data that made it go."""
    dataset = get_dataset(session, code)
    authorize(actor, "opendata.publish", Target("open_dataset", code, department_id=dataset.resource.provider_id))
    dataset.status, dataset.withdrawn_at = WITHDRAWN, utcnow()
    append_event(session, actor=actor, action="open.withdraw", target=f"open_dataset:{code}",
                 detail={"reason": reason} | ({"items": items} if items else {}))
    return dataset


def list_datasets(session: Session, *, q: str = "", provider: str | None = None, kind: str | None = None,
                  page: Window | None = None) -> Found[OpenDataset]:
    """The published datasets (public), newest first; ``q`` searches titles, descriptions and keywords."""
    stmt = select(OpenDataset).join(Resource).where(OpenDataset.status == PUBLISHED)
    if q.strip():
        pattern = f"%{escape_like(q.strip())}%"
        stmt = stmt.where(or_(OpenDataset.title.like(pattern, escape="\\"),
                              OpenDataset.description.like(pattern, escape="\\"),
                              Resource.search_text.like(pattern, escape="\\")))
    if provider:
        stmt = stmt.join(Department, Department.id == Resource.provider_id).where(Department.code == provider)
    if kind:
        stmt = stmt.where(OpenDataset.kind == kind)
    return window(session, stmt.order_by(OpenDataset.published_at.desc(), OpenDataset.id.desc()), page)


def usage(session: Session, dataset_ids: list[int] | None = None, *, since: date | None = None) -> dict[int, dict]:
    """Views, downloads and API calls per dataset (all time, or from ``since``)."""
    stmt = select(OpenUsage.dataset_id, OpenUsage.kind, func.sum(OpenUsage.count)).group_by(
        OpenUsage.dataset_id, OpenUsage.kind)
    if dataset_ids is not None:
        stmt = stmt.where(OpenUsage.dataset_id.in_(dataset_ids))
    if since is not None:
        stmt = stmt.where(OpenUsage.day >= since)
    found: dict[int, dict] = {}
    for dataset_id, kind, count in session.execute(stmt):
        found.setdefault(dataset_id, {"view": 0, "download": 0, "api": 0})[kind] = int(count)
    return found


def daily_usage(session: Session, dataset_id: int, *, since: date) -> list[tuple[date, str, int]]:
    return list(session.execute(select(OpenUsage.day, OpenUsage.kind, OpenUsage.count).where(
        OpenUsage.dataset_id == dataset_id, OpenUsage.day >= since).order_by(OpenUsage.day)))

