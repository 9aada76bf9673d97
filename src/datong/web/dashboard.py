"""The home page: each person's waiting work, by what their roles let them act on, each a link."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request

from datong.catalog.sources import CONFLICT, list_claims
from datong.i18n import N_
from datong.ingest.service import failed_loads
from datong.metrics.overview import glance
from datong.quality.service import list_issues, overdue
from datong.security import service as identity
from datong.security.authz import Actor, Target, is_allowed
from datong.security.roles import Role
from datong.sharing import service as sharing
from datong.sharing import subscriptions
from datong.web.pages import ConsoleActor, render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Work:
    """One kind of waiting work: how many, what it is, where to do it."""

    key: str
    count: int
    label: str
    href: str


def _own(actor: Actor, action: str) -> bool:
    return is_allowed(actor, action, Target("department", None, actor.department_id))


def worklist(session, actor: Actor) -> list[Work]:
    """What waits for this person. Each count comes from the same authorised service the page it
    links to uses, so nobody is told of work they could not see."""
    work = []
    if _own(actor, "share.decide"):
        pending = [r for r in sharing.list_requests(session, actor) if sharing.may_decide(actor, r)]
        work.append(Work("requests", len(pending), N_("sharing requests waiting for your decision"), "/share"))
    if is_allowed(actor, "source.resolve", Target("source")):
        elements = {c.element_id for c in list_claims(session, status=CONFLICT)}
        work.append(Work("conflicts", len(elements), N_("data elements with conflicting authoritative sources"),
                         "/catalog/sources"))
    if _own(actor, "issue.rectify") or is_allowed(actor, "issue.review", Target("issues")):
        late = [i for i in list_issues(session, actor) if overdue(i)]
        work.append(Work("overdue", len(late), N_("quality issues past their rectification deadline"),
                         "/quality/issues"))
    if _own(actor, "share.request") or is_allowed(actor, "share.oversee", Target("deliveries")):
        dead = subscriptions.list_deliveries(session, actor, dead=True)
        work.append(Work("dead_letters", len(dead), N_("subscription deliveries that failed for good"),
                         "/share/deliveries?dead=true"))
    if _own(actor, "load.read"):
        failed = failed_loads(session, actor)
        href = f"/catalog/r/{failed[0].resource.code}/loads" if len(failed) == 1 else "/catalog"
        work.append(Work("failed_loads", len(failed), N_("loads that failed in the last 7 days"), href))
    return work


@router.get("/")
def home(request: Request, actor: ConsoleActor):
    may = {
        "departments": is_allowed(actor, "department.list", Target("departments")),
        "create_department": is_allowed(actor, "department.create", Target("department")),
        "users": is_allowed(actor, "user.list", Target("users", department_id=actor.department_id)),
        "clients": is_allowed(actor, "client.list", Target("clients", department_id=actor.department_id)),
        "audit": is_allowed(actor, "audit.read", Target("audit_events")),
    }
    with request.app.state.database.reading() as session:
        department = identity.get_department(session, actor.department_code)
        # The bureau sees the province at a glance (共享效率和使用态势).
        province = glance(session, actor) if actor.has(Role.BUREAU_ADMIN) else None
        return render(request, "home.html", may=may, department=department, work=worklist(session, actor),
                      province=province)
