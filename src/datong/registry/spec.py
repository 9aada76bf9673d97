"""What each registry is made of: its key, the elements that are its attributes, and which
resources feed it (read from the catalog, so a new resource extends the registry without code)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.catalog.models import DataElement, Resource, SourceClaim
from datong.catalog.sources import AUTHORITATIVE, CONFLICT
from datong.store.models import COMMITTED, Load

PERSON, ENTITY = "person", "entity"
KINDS = (PERSON, ENTITY)
KEY_ELEMENT = {PERSON: "DE0001", ENTITY: "DE0010"}
REGISTRY = {PERSON: "population", ENTITY: "legal_entity"}
#: A company's numbers from before the credit code, which map to it.
REG_NO, ORG_CODE = "DE0023", "DE0024"
DIVISION = "DE0007"
#: Elements that describe the one person (or company) a record is about. A record that names
#: several (both spouses, a newborn's parents) gives these to none of them: 出生医学证明's 姓名 is
#: the newborn's, not the mother's. Its other attributes (婚姻状况) apply to every subject it names.
IDENTITY = {PERSON: {"DE0002", "DE0003", "DE0004", "DE0008", "DE0009", "DE0022"},
            ENTITY: {"DE0011", "DE0012", "DE0014", "DE0015"}}
#: The comparison columns of the linkage model, by element.
FEATURES = {PERSON: {"name": "DE0002", "sex": "DE0003", "birth": "DE0004", "address": "DE0008",
                     "phone": "DE0009", "division": DIVISION},
            ENTITY: {"name": "DE0011", "legal_rep": "DE0012", "founded": "DE0014", "division": DIVISION}}
#: The bureau's own resources that hold the golden records (read through sharing like any other).
RESOURCE_NAMES = {PERSON: "人口综合库", ENTITY: "法人综合库"}


@dataclass(frozen=True)
class Source:
    """One resource's newest snapshot, as the registry reads it."""

    resource_id: int
    code: str
    department: str  # provider's credit code
    snapshot: str
    load_id: int
    as_of: datetime
    keys: tuple[str, ...]  # items holding the registry's key (several: both spouses)
    old_codes: tuple[tuple[str, str], ...]  # (item, element) of 注册号 / 组织机构代码
    attributes: tuple[tuple[str, str], ...]  # (item, element), division included for linkage

    @property
    def single(self) -> bool:
        return len(self.keys) <= 1


def elements_of(session: Session, kind: str) -> list[DataElement]:
    """The registry's attributes: elements the catalog assigns to it, its key excepted."""
    return list(session.scalars(select(DataElement).where(DataElement.base_registry == REGISTRY[kind],
                                                          DataElement.identifier != KEY_ELEMENT[kind])
                                .order_by(DataElement.identifier)))


def sources_of(session: Session, kind: str, *, exclude: set[int]) -> list[Source]:
    """Every resource with a committed snapshot whose items carry the registry's key or enough of
    its attributes to be linked without one."""
    wanted = {e.identifier for e in elements_of(session, kind)} | {DIVISION}
    found = []
    for resource in session.scalars(select(Resource).where(Resource.withdrawn_at.is_(None)).order_by(Resource.id)):
        if resource.id in exclude:
            continue
        items = [(i.name, i.element.identifier) for i in resource.items if i.element is not None]
        keys = tuple(name for name, element in items if element == KEY_ELEMENT[kind])
        attributes = tuple((n, e) for n, e in items if e in wanted)
        old = tuple((n, e) for n, e in items if kind == ENTITY and e in (REG_NO, ORG_CODE))
        linkable = FEATURES[kind]["name"] in {e for _, e in attributes}
        if not keys and not old and not linkable:
            continue
        load = session.execute(select(Load.id, Load.snapshot, Load.finished_at).where(
            Load.resource_id == resource.id, Load.status == COMMITTED, Load.snapshot.is_not(None))
            .order_by(Load.id.desc()).limit(1)).first()
        if load is None:
            continue
        found.append(Source(resource.id, resource.code, resource.provider.code, load.snapshot, load.id,
                            load.finished_at, keys, old, attributes))
    return found


def authorities(session: Session) -> dict[str, str]:
    """element → credit code of its settled authoritative source (一数一源); a conflicted element
    has none until the bureau decides."""
    rows = session.execute(select(SourceClaim.status, DataElement.identifier, SourceClaim.department_id)
                           .join(DataElement, DataElement.id == SourceClaim.element_id)).all()
    conflicted = {r.identifier for r in rows if r.status == CONFLICT}
    from datong.security.models import Department

    codes = dict(session.execute(select(Department.id, Department.code)).all())
    return {r.identifier: codes[r.department_id] for r in rows
            if r.status == AUTHORITATIVE and r.identifier not in conflicted}
