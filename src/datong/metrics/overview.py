"""The province at a glance (共享效率和使用态势), for the bureau's home page: governed reads per
day, the departments that read and are read most, failed deliveries and the health of loads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datong.catalog.models import Resource
from datong.metrics.assessment import READ_ACTIONS
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import AuditEvent, Department
from datong.sharing.models import Delivery
from datong.store.models import COMMITTED, FAILED, Load


@service(mutates=False)
def glance(session: Session, actor: Actor, *, days: int = 30, today: date | None = None) -> dict:
    authorize(actor, "assessment.read", Target("overview"))
    today = today or datetime.now(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), UTC)
    reads = (AuditEvent.action.in_(READ_ACTIONS)) & (AuditEvent.occurred_at >= since) & (AuditEvent.outcome == "success")
    day = func.date(AuditEvent.occurred_at)  # grouped in the database: the chain may hold millions of reads
    per_day = {str(d)[:10]: n for d, n in session.execute(select(day, func.count()).where(reads).group_by(day))}
    labels = [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
    names = dict(session.execute(select(Department.code, Department.name)).all())
    consumers = session.execute(select(AuditEvent.actor_department, func.count()).where(reads)
                                .group_by(AuditEvent.actor_department).order_by(func.count().desc()).limit(5)).all()
    providers_of = dict(session.execute(select(Resource.code, Department.code)
                                        .join(Department, Department.id == Resource.provider_id)).all())
    provided: dict[str, int] = {}
    for target, count in session.execute(select(AuditEvent.target, func.count()).where(reads).group_by(AuditEvent.target)):
        provider = providers_of.get((target or "").removeprefix("resource:"))
        if provider:
            provided[provider] = provided.get(provider, 0) + count
    week = datetime.combine(today - timedelta(days=6), datetime.min.time(), UTC)
    loads = dict(session.execute(select(Load.status, func.count()).where(Load.started_at >= week)
                                 .group_by(Load.status)).all())
    dead = session.scalar(select(func.count(Delivery.id)).where(Delivery.dead.is_(True))) or 0
    return {"days": labels, "reads": [per_day.get(d, 0) for d in labels], "total_reads": sum(per_day.values()),
            "top_consumers": [{"code": c or "-", "name": names.get(c, c or "-"), "reads": n} for c, n in consumers],
            "top_providers": [{"code": c, "name": names.get(c, c), "reads": n}
                              for c, n in sorted(provided.items(), key=lambda kv: -kv[1])[:5]],
            "failed_deliveries": dead, "loads_committed": loads.get(COMMITTED, 0), "loads_failed": loads.get(FAILED, 0)}
