"""A quality run without a load: today's rules over the resource's current data (its snapshot),
and the timeliness of its last load against the promised update cycle."""

from __future__ import annotations

import shutil
import uuid

from sqlalchemy import select

from datong.db.engine import Database
from datong.errors import DatongError
from datong.i18n import N_
from datong.store.models import COMMITTED, Load
from datong.staging.plan import plan_for
from datong.staging.stage import Mapping, stage
from datong.quality import service
from datong.quality.models import QualityScore
from datong.quality.rules import attach_sources, build_checks, evaluate, precompute
from datong.security.audit import append_event
from datong.security.authz import Actor, Target
from datong.warehouse import engine as warehouse
from datong.warehouse.engine import quote_identifier, sql_string


class NoKeyItem(DatongError):
    status = 422
    code = "no_key_item"
    message = N_("{resource} has no key data item, so its records cannot be told apart; mark the items that "
                 "identify a record as keys in the catalog, then run the check again.")


def _raw_from_snapshot(con, plan) -> None:
    columns = ", ".join(f"json_extract_string(payload, {sql_string(chr(36) + '.' + chr(34) + c.name + chr(34))}) "
                        f"AS {quote_identifier(c.name)}" for c in plan.items)
    if plan.previous_snapshot:
        con.execute(f"CREATE TABLE raw AS SELECT row_number() OVER () AS __row, {columns} "
                    f"FROM read_parquet({sql_string(plan.previous_snapshot)})")
    else:
        empty = ", ".join(f"CAST(NULL AS VARCHAR) AS {quote_identifier(c.name)}" for c in plan.items)
        con.execute(f"CREATE TABLE raw AS SELECT CAST(NULL AS BIGINT) AS __row, {empty} LIMIT 0")


def run_quality(database: Database, actor: Actor, *, resource_code: str) -> QualityScore:
    from datetime import date

    with database.unit_of_work() as session:
        resource = service.begin_run(session, actor, resource_code=resource_code)
        plan = plan_for(session, resource, service.declared_rules(session, resource))
        if not plan.key_items:
            raise NoKeyItem(resource=resource.name)
        last = session.scalar(select(Load.finished_at).where(Load.resource_id == resource.id,
                                                             Load.status == COMMITTED).order_by(Load.id.desc()).limit(1))
    work = database.data_dir / "work" / f"quality-{uuid.uuid4().hex}"  # one folder a run: processes may overlap
    try:
        with warehouse.session(work, memory=database.warehouse_memory) as con:
            _raw_from_snapshot(con, plan)
            stage(con, plan.items, Mapping({c.index: c.name for c in plan.items}, None), plan.labels)
            attach_sources(con, plan.items, plan.lookups)
            precompute(con, plan.items, date.today())
            checks = build_checks(plan.items, plan.declared, plan.lookups, date.today())
            evaluate(con, checks)
            with database.unit_of_work() as session:
                resource = service.begin_run(session, actor, resource_code=resource_code)
                timeliness = service.check_timeliness(session, resource, last, plan)
                score = service.record_load(session, con, None, plan, checks, None, timeliness=timeliness)
                append_event(session, actor=actor, action="quality.run", target=Target("resource", resource.code),
                             detail={"overall": round(score.overall, 4), "timeliness": timeliness})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return score
