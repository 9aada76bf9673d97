"""A load from start to end: read, stage, check, diff against the last snapshot, write.

Three transactions: one records that the load has started (so that it can be seen and, if the
process dies, found), one commits the data with the load's outcome, its problems, scores and
audit event, and, on failure, one records why. The bulk work between them runs in DuckDB.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
from sqlalchemy import select

from datong import events
from datong.db.engine import Database
from datong.errors import DatongError
from datong.i18n import N_, Message
from datong.ingest import service
from datong.store.models import Record
from datong.staging.plan import Plan, plan_for
from datong.ingest.lease import Lease, clean_dead_loads
from datong.ingest.sources import LoadFailed, Source, read_source
from datong.ingest.columns import known_headers, match_columns, match_headers
from datong.staging.stage import keep_originals, stage
from datong.store.snapshots import prune_snapshots
from datong.store.writer import Progress, Writer
from datong.quality import service as quality
from datong.quality.rules import REJECT, WARN, attach_sources, build_checks, evaluate, precompute
from datong.security.authz import Actor
from datong.warehouse import engine as warehouse
from datong.warehouse.engine import sql_string

MODES = ("full", "incremental")
SUBJECT_KINDS = ("person", "entity")
log = logging.getLogger(__name__)


@dataclass
class Outcome:
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    warned: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def _old(con: duckdb.DuckDBPyConnection, plan: Plan, database: Database) -> None:
    """The resource's current records: the last snapshot, or, if that file is gone, the store."""
    if plan.previous_snapshot:
        con.execute(f"CREATE TABLE old AS SELECT __key, __hash, __version, payload "
                    f"FROM read_parquet({sql_string(plan.previous_snapshot)})")
        return
    con.execute("CREATE TABLE old (__key VARCHAR, __hash VARCHAR, __version INTEGER, payload VARCHAR)")
    with database.reading() as session:
        rows = session.execute(select(Record.key, Record.row_hash, Record.version, Record.payload)
                               .where(Record.resource_id == plan.resource_id)).yield_per(50_000)
        for chunk in rows.partitions():
            con.executemany("INSERT INTO old VALUES (?, ?, ?, ?)", [tuple(r) for r in chunk])


def diff(con: duckdb.DuckDBPyConnection, plan: Plan, checks, mode: str, snapshot: Path) -> Outcome:
    rejecting = [n for n, c in enumerate(checks) if c.severity == REJECT] or [-1]
    warning = [n for n, c in enumerate(checks) if c.severity == WARN] or [-1]
    con.execute(f"CREATE TABLE rejected AS SELECT DISTINCT __row FROM problems WHERE check_no IN "
                f"({', '.join(map(str, rejecting))})")
    pairs = ", ".join(f"{sql_string(c.name)}, {c.ref}" for c in plan.items)
    keys = ", ".join(c.ref for c in plan.key_items)
    con.execute(f"""CREATE TABLE acc AS SELECT __row, __key, __op, {keys}, json_object({pairs}) AS payload
                    FROM staged ANTI JOIN rejected USING (__row)""")
    con.execute(f"""CREATE TABLE changes AS
        SELECT i.*, CASE WHEN o.__key IS NULL THEN 'I' WHEN o.__hash <> i.__hash THEN 'U' ELSE 'N' END AS change,
               coalesce(o.__version, 0) + CASE WHEN o.__key IS NULL OR o.__hash <> i.__hash THEN 1 ELSE 0 END
                   AS __version
        FROM (SELECT __key, {keys}, payload, sha256(payload) AS __hash FROM acc WHERE __op = 'U') i
        LEFT JOIN old o USING (__key)""")
    if mode == "full":
        con.execute("CREATE TABLE deletes AS SELECT __key FROM old "
                    "ANTI JOIN (SELECT DISTINCT __key FROM staged WHERE __key IS NOT NULL) USING (__key)")
    else:
        con.execute("CREATE TABLE deletes AS SELECT DISTINCT __key FROM acc SEMI JOIN old USING (__key) "
                    "WHERE __op = 'D'")
    # The 一号 view finds subjects (people, companies); a record number names only its record.
    unions = " UNION ALL ".join(
        f"SELECT {sql_string(c.key_kind)} AS kind, {c.ref} AS value, __key, {sql_string(c.name)} AS item "
        f"FROM changes WHERE change IN ('I', 'U') AND {c.ref} IS NOT NULL"
        for c in plan.key_items if c.key_kind in SUBJECT_KINDS)
    if not unions:
        unions = "SELECT NULL::VARCHAR AS kind, NULL::VARCHAR AS value, NULL::VARCHAR AS __key, NULL::VARCHAR AS item WHERE false"
    con.execute(f"CREATE TABLE new_keys AS SELECT DISTINCT * FROM ({unions})")
    snapshot.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    con.execute(f"""COPY (
        SELECT __key, __hash, __version, payload FROM changes
        UNION ALL
        SELECT __key, __hash, __version, payload FROM old ANTI JOIN changes USING (__key) ANTI JOIN deletes USING (__key)
        ) TO {sql_string(str(snapshot))} (FORMAT parquet)""")
    snapshot.chmod(0o600)  # every record of the resource
    read = _count(con, "SELECT count(*) FROM staged")
    rejected = _count(con, "SELECT count(*) FROM rejected")
    return Outcome(
        read=read, rejected=rejected, accepted=read - rejected,
        warned=_count(con, f"SELECT count(DISTINCT __row) FROM problems ANTI JOIN rejected USING (__row) "
                           f"WHERE check_no IN ({', '.join(map(str, warning))})"),
        inserted=_count(con, "SELECT count(*) FROM changes WHERE change = 'I'"),
        updated=_count(con, "SELECT count(*) FROM changes WHERE change = 'U'"),
        unchanged=_count(con, "SELECT count(*) FROM changes WHERE change = 'N'"),
        deleted=_count(con, "SELECT count(*) FROM deletes"),
    )


def _bulk(con, database: Database, plan: Plan, source: Source, mode: str, snapshot: Path, work: Path,
          progress: Progress) -> tuple[Outcome, list, str | None]:
    headers = known_headers(plan.items, plan.saved_mapping, plan.element_names)
    progress("read", 0, 0)
    def check(header: list[str]) -> None:  # refused on its header, before its body is read
        match_headers(source, header, plan.items, plan.saved_mapping, plan.element_names, mode)

    encoding = read_source(con, source, work, headers, check)
    # Row numbers come from the order rows were read in; from here on order is carried in __row,
    # and DuckDB may use less memory by not keeping insertion order.
    con.execute("SET preserve_insertion_order = false")
    mapping = match_columns(con, source, plan.items, plan.saved_mapping, plan.element_names, mode)
    progress("check", 0, 0)
    stage(con, plan.items, mapping, plan.labels)
    attach_sources(con, plan.items, plan.lookups)
    precompute(con, plan.items, date.today())
    checks = build_checks(plan.items, plan.declared, plan.lookups, date.today())
    evaluate(con, checks)
    keep_originals(con)
    progress("diff", 0, 0)
    _old(con, plan, database)
    return diff(con, plan, checks, mode, snapshot), checks, encoding


def run_load(database: Database, actor: Actor, *, resource_code: str, source: Source, mode: str = "full",
             progress: Progress | None = None, started=None, allow_deletes: bool = False):
    """Load ``source`` into the resource; returns the committed Load, or raises LoadFailed
    after recording why (nothing of the data is kept). A full load that would delete more than
    ``database.full_load_delete_share`` of the records stops, unless ``allow_deletes``."""
    if mode not in MODES:
        raise LoadFailed(source=source.label, reason=Message(N_("the mode must be full or incremental")))
    clean_dead_loads(database)
    with database.unit_of_work() as session:
        load = service.begin_load(session, actor, resource_code=resource_code, source=source, mode=mode,
                                  lease_seconds=database.load_lease_seconds)
        plan = plan_for(session, load.resource, quality.declared_rules(session, load.resource))
        load_id = load.id
    if started is not None:
        started(load_id)
    with Lease(database, load_id) as lease:
        def report(phase: str, done: int, total: int) -> None:
            lease.progress(phase, done, total)
            if progress is not None:
                progress(phase, done, total)

        load = _run(database, actor, plan, load_id, source, mode, report, allow_deletes)
    try:  # the load has committed: what follows may wait for `datong worker`, never undo it
        events.dispatch(database)  # subscriptions (and later registries) take the new data now
        with database.unit_of_work() as session:
            prune_snapshots(session, plan.resource_id, database.snapshot_keep)
    except Exception as exc:  # noqa: BLE001 - logged; the event stays pending, the files stay
        log.warning("after load %s: %s (the worker will pick the event up)", load_id, exc)
    return load


def _run(database: Database, actor: Actor, plan: Plan, load_id: int, source: Source, mode: str, progress: Progress,
         allow_deletes: bool = False):
    if not plan.key_items:
        error = LoadFailed(source=source.label, reason=Message(
            N_("the resource has no key data item; mark the items that identify a record as keys in the catalog")))
        _failed(database, actor, load_id, error)
        raise error
    work = database.data_dir / "work" / f"load-{load_id}"
    snapshot = database.data_dir / "snapshots" / f"resource-{plan.resource_id}" / f"load-{load_id}.parquet"
    try:
        with warehouse.session(work / "tmp", memory=database.warehouse_memory) as con:
            outcome, checks, encoding = _bulk(con, database, plan, source, mode, snapshot, work, progress)
            if not allow_deletes:
                _check_deletes(con, source, outcome, database.full_load_delete_share)
            total = outcome.inserted + outcome.updated + outcome.deleted
            progress("write", 0, total)
            with database.unit_of_work() as session:
                writer = Writer(session, plan.resource_id, load_id, progress)
                writer.apply(con, total)
                quality.record_load(session, con, writer, plan, checks, load_id)
                writer.copy_query(con, f"SELECT {int(load_id)}, __row, original FROM originals ORDER BY __row",
                                  "load_rows", ("load_id", "row", "original"))
                load = service.finish_load(session, actor, load_id=load_id, outcome=vars(outcome),
                                           encoding=encoding, snapshot=str(snapshot))
                if total:  # the outbox: consumers learn of the change exactly when it commits
                    events.publish(session, events.LOAD_COMMITTED, {
                        "load": load_id, "resource": plan.resource_id, "snapshot": str(snapshot),
                        "previous": plan.previous_snapshot})
        progress("done", total, total)
        return load
    except BaseException as error:
        snapshot.unlink(missing_ok=True)
        _failed(database, actor, load_id, error)
        if isinstance(error, DatongError) or not isinstance(error, Exception):
            raise
        raise LoadFailed(source=source.label, reason=Message(N_("an internal error stopped the load ({detail})"),
                                                             detail=type(error).__name__)) from error
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_deletes(con: duckdb.DuckDBPyConnection, source: Source, outcome: Outcome, share: float) -> None:
    """A full load deletes what its file lacks: a file cut short would empty the resource. Above
    the share the deployment sets, the load stops and says how to go on."""
    existing = _count(con, "SELECT count(*) FROM old")
    if outcome.deleted and existing and outcome.deleted / existing > share:
        raise LoadFailed(source=source.label, reason=Message(N_(
            "this full load would delete {deleted} of the resource's {existing} records ({percent}%), more than "
            "{limit}%: if that is meant, load it again allowing deletes (datong ingest --allow-deletes; "
            "allow_deletes=true over the API); otherwise check that the file is complete, or load incrementally"),
            deleted=outcome.deleted, existing=existing, percent=round(100 * outcome.deleted / existing),
            limit=round(100 * share)))


def _failed(database: Database, actor: Actor, load_id: int, error: BaseException) -> None:
    if isinstance(error, DatongError):
        texts = {locale: error.localised(locale) for locale in ("zh-CN", "en")}
    else:
        texts = {"zh-CN": f"加载中断（{type(error).__name__}）", "en": f"the load was interrupted ({type(error).__name__})"}
    with database.unit_of_work() as session:
        service.fail_load(session, actor, load_id=load_id, texts=texts)

