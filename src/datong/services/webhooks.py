"""Department systems follow cases through sharing, unchanged: the cases are the bureau's catalog
resource 一窗办件 (a status row per case, the applicant's number masked unless granted in plain), so
a system requests it, is granted it and subscribes to it like any resource; each change of a case
is queued as a signed delivery for the existing webhook worker."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from datong.catalog.models import Resource
from datong.catalog.schemas import ResourceIn
from datong.db.snapshot import Prepared, snapshot_of
from datong.security.authz import Actor
from datong.services.models import Case
from datong.sharing.models import Subscription

RESOURCE_NAME = "一窗办件"
ITEMS = [{"name": "办件编号", "data_type": "string", "key": "record", "note": "一窗受理办件编号"},
         {"name": "事项编码", "data_type": "string", "note": "政务服务事项编码"},
         {"name": "事项名称", "data_type": "string", "note": "政务服务事项或一件事名称"},
         {"name": "办件状态", "data_type": "string", "note": "draft/waiting/in_review/awaiting_applicant/completed/delivered/refused"},
         {"name": "办理结果", "data_type": "string", "note": "approved/rejected"},
         # masked as an ID number (the first six and last four shown) unless granted in plain
         {"name": "申请人证件号码", "element": "DE0001", "note": "公民身份号码，或法人的统一社会信用代码"},
         {"name": "结果证照标识", "data_type": "string", "note": "办结发放的电子证照"},
         {"name": "承诺办结日期", "data_type": "date", "note": "按工作日计算"}]


def case_resource_id(session: Session) -> int | None:
    from datong.registry.service import bureau_department

    try:
        bureau = bureau_department(session)
    except Exception:  # noqa: BLE001 - no bureau yet: nothing to deliver
        return None
    return session.scalar(select(Resource.id).where(Resource.provider_id == bureau.id, Resource.name == RESOURCE_NAME))


def ensure_case_resource(session: Session) -> Resource:
    """The resource, created by the hub itself the first time an item is saved."""
    from datong.catalog import service as catalog
    from datong.registry.service import bureau_department

    bureau = bureau_department(session)
    found = session.scalar(select(Resource).where(Resource.provider_id == bureau.id, Resource.name == RESOURCE_NAME))
    if found is not None:
        return found
    data = ResourceIn(name=RESOURCE_NAME, provider=bureau.code, category="1", class_code="04", theme="政务服务",
                      summary="一窗受理平台的办件状态：事项、状态、结果和承诺办结日期；部门系统订阅以获知办件变化。",
                      keywords=["一窗受理", "办件"], sharing_type="conditional",
                      sharing_condition="承办部门业务系统同步办件状态", sharing_methods=["api", "subscription"],
                      open_type="none", update_cycle="realtime", items=ITEMS)
    return catalog.create_resource(session, Actor.system("one-window"), data=data)


def status_row(case: Case) -> dict:
    return {"办件编号": case.number, "事项编码": case.item.code if case.item else case.bundle.code,
            "事项名称": case.item.name if case.item else case.bundle.name, "办件状态": case.status,
            "办理结果": case.outcome or "", "申请人证件号码": case.applicant_key, "结果证照标识": case.result_licence or "",
            "承诺办结日期": case.due_on.isoformat() if case.due_on else ""}


# Whether any resource of this name has an active subscription: one statement at the driver level,
# in the caller's transaction. Most changes of a case have no subscriber; only when this finds one
# are the bureau's resource and its subscriptions in force looked up through the models.
_SUBSCRIBED = Prepared(select(Subscription.id).join(Resource, Resource.id == Subscription.resource_id)
                       .where(Resource.name == bindparam("name"), Subscription.active.is_(True)))


def queue_deliveries(session: Session, case: Case, action: str) -> int:
    from datong.sharing.subscriptions import active_subscriptions, queue_change

    cached = session.info.setdefault("case_subscriptions", {})  # one transaction's cases share one lookup
    if "subs" not in cached:
        resource_id = case_resource_id(session) if snapshot_of(session).rows(_SUBSCRIBED, {"name": RESOURCE_NAME}) else None
        cached["subs"] = [] if resource_id is None else active_subscriptions(session, resource_id)
    if not cached["subs"]:
        return 0
    event, row = "inserted" if action == "opened" else "updated", status_row(case)
    return sum(queue_change(session, sub, event=event, key=case.number, subject=case.applicant_key, row=row,
                            extra={"action": action}) for sub in cached["subs"])
