"""一数一源: one authoritative department for each datum a base registry uses.

The first department to claim an element is its authoritative source. A second claim is not
accepted silently: it is recorded as a ``conflict`` and shown as such until the bureau decides;
the decision makes one claim ``authoritative`` and the others ``rejected``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.catalog.models import SourceClaim
from datong.catalog.service import get_element, get_resource
from datong.db.base import utcnow
from datong.db.paging import Found, Window, window
from datong.errors import Conflict, InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.service import get_department

AUTHORITATIVE, CONFLICT, REJECTED = "authoritative", "conflict", "rejected"
CLAIM = Term(N_("Source claim"))


@service(mutates=True)
def claim_source(session: Session, actor: Actor, *, element: str, department: str,
                 resource: str | None = None) -> SourceClaim:
    dept = get_department(session, department)
    authorize(actor, "source.claim", Target("source", element, dept.id))
    elem = get_element(session, element)
    if not elem.base_registry:
        raise InvalidInput(field="element", reason=Term(N_("no base registry uses this element, so it needs no authoritative source")))
    res = get_resource(session, resource) if resource else None
    if res is not None and res.provider_id != dept.id:
        raise InvalidInput(field="resource", reason=Term(N_("the resource must be the claiming department's own")))
    claims = list(session.scalars(select(SourceClaim).where(SourceClaim.element_id == elem.id)))
    if any(c.department_id == dept.id for c in claims):
        raise Conflict(what=CLAIM, key=f"{elem.identifier}/{dept.code}")
    status = CONFLICT if any(c.status in (AUTHORITATIVE, CONFLICT) for c in claims) else AUTHORITATIVE
    claim = SourceClaim(element=elem, department=dept, resource_id=res.id if res else None, status=status,
                        claimed_by=actor.name)
    session.add(claim)
    session.flush()
    append_event(session, actor=actor, action="source.claim", target=f"element:{elem.identifier}",
                 detail={"department": dept.code, "status": status})
    return claim


@service(mutates=True)
def resolve_source(session: Session, actor: Actor, *, claim_id: int, reason: str) -> SourceClaim:
    """The bureau names the winning claim; every other claim on the element is rejected."""
    authorize(actor, "source.resolve", Target("source", str(claim_id)))
    winner = session.get(SourceClaim, claim_id)
    if winner is None:
        raise NotFound(what=CLAIM, key=str(claim_id))
    now = utcnow()
    for claim in session.scalars(select(SourceClaim).where(SourceClaim.element_id == winner.element_id)):
        claim.status = AUTHORITATIVE if claim.id == winner.id else REJECTED
        claim.decided_by, claim.decided_at, claim.reason = actor.name, now, reason.strip()
    session.flush()
    append_event(session, actor=actor, action="source.resolve", target=f"element:{winner.element.identifier}",
                 detail={"authoritative": winner.department.code, "reason": reason.strip()})
    return winner


def list_claims(session: Session, *, status: str | None = None, page: Window | None = None) -> Found[SourceClaim]:
    stmt = select(SourceClaim).order_by(SourceClaim.element_id, SourceClaim.claimed_at, SourceClaim.id)
    if status:
        stmt = stmt.where(SourceClaim.status == status)
    return window(session, stmt, page)


def authoritative_department(session: Session, element: str) -> str | None:
    """Credit code of the element's authoritative source, when one is settled."""
    claim = session.scalar(select(SourceClaim).join(SourceClaim.element)
                           .where(SourceClaim.status == AUTHORITATIVE,
                                  SourceClaim.element.has(identifier=element)))
    if claim is None:
        return None
    conflicted = session.scalar(select(SourceClaim.id).where(SourceClaim.element_id == claim.element_id,
                                                             SourceClaim.status == CONFLICT))
    return None if conflicted else claim.department.code
