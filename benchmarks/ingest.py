"""Ingest speed against DuckDB's bare CSV scan, in one process.

Generates a CSV of a population resource (10 data items, about 3% defective rows: bad check
characters, impossible dates, unknown sex codes, repeated keys), then measures:

- baseline: DuckDB reading the whole file (every column, as text) into a table;
- full: datong's full load (parse, standardise, every rule, diff, write to the SQLite store);
- incremental: a file of 1% of the rows, changed, as an incremental load;
- reload: the whole file again with another 1% changed, as a full load (unchanged rows are
  recognised by their hash and cost no writes).

With ``--postgres URL`` the store is PostgreSQL (a fresh schema, dropped afterwards), and the
baseline is instead a plain ``COPY`` of the rows the full load wrote (records and record keys) into
tables made ``LIKE`` the store's, with the same indexes: the cost of the database work alone.

Prints one JSON object: rows/s of each, their ratios, and the process's peak memory.
Usage: python benchmarks/ingest.py [ROWS] [--postgres URL]   (default 5,000,000 rows, SQLite)
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from datong.bootstrap import initialise
from datong.catalog import service
from datong.catalog.schemas import ResourceIn
from datong.codes.credit_code import make_credit_code
from datong.db import Database
from datong.db.engine import make_engine
from datong.demo.people import counties
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.security import service as identity
from datong.security.authz import Actor
from datong.warehouse import engine as warehouse
from datong.warehouse.engine import sql_string

ACTOR = Actor.system("bench")
DEPT = make_credit_code("1", "1", "330000", "00900001")
ITEMS = [
    {"name": "公民身份号码", "element": "DE0001", "key": "person"}, {"name": "姓名", "element": "DE0002"},
    {"name": "性别代码", "element": "DE0003"}, {"name": "出生日期", "element": "DE0004"},
    {"name": "民族代码", "element": "DE0005"}, {"name": "住址", "element": "DE0008"},
    {"name": "联系电话", "element": "DE0009"}, {"name": "户籍地行政区划代码", "element": "DE0007"},
    {"name": "婚姻状况代码", "element": "DE0016"}, {"name": "学历代码", "element": "DE0018"},
]


def generate_csv(path: Path, rows: int, *, changed: float = 0.0, only_changed: bool = False, salt: int = 10,
                 seed: int = 1) -> None:
    """Write the file with DuckDB (a Python loop would take longer than the load)."""
    divisions = "[" + ", ".join(sql_string(c) for c in counties("33")) + "]"
    surnames = "['王','李','张','刘','陈','杨','赵','黄','周','吴','徐','孙','胡','朱','高']"
    given = "['伟','芳','娜','敏','静','丽','强','磊','洋','艳','勇','军','杰','娟','涛','明','超','秀英','华','平']"
    with warehouse.session() as con:
        con.execute(f"SELECT setseed({seed / 10})")
        con.execute(f"""
        CREATE TABLE people AS
        SELECT n, {divisions}[1 + (CAST(hash(n, 1) % len({divisions}) AS BIGINT))] AS division,
               DATE '1940-01-01' + CAST(hash(n, 2) % 30000 AS INTEGER) AS birth,
               (n % 1000) AS serial
        FROM range({rows}) t(n)""")
        con.execute("""
        CREATE TABLE base AS SELECT n, division, birth,
            division || strftime(birth, '%Y%m%d') || lpad(CAST(serial AS VARCHAR), 3, '0') AS first17,
            CASE WHEN serial % 2 = 1 THEN '1' ELSE '2' END AS sex FROM people""")
        con.execute(f"""
        CREATE TABLE generated AS SELECT n,
            first17 || datong_id_check(first17) AS id,
            {surnames}[1 + (CAST(hash(n, 3) % 15 AS BIGINT))] || {given}[1 + (CAST(hash(n, 4) % 20 AS BIGINT))] AS name,
            sex, strftime(birth, '%Y-%m-%d') AS birth,
            lpad(CAST(1 + (CAST(hash(n, 5) % 56 AS BIGINT)) AS VARCHAR), 2, '0') AS ethnic,
            '浙江省' || division || '某某路' || CAST(CAST(hash(n, 6) % 999 AS BIGINT) AS VARCHAR) || '号' AS address,
            '13' || lpad(CAST(CAST(hash(n, 7) % 1000000000 AS BIGINT) AS VARCHAR), 9, '0') AS phone,
            division, ['10', '20', '40'][1 + (CAST(hash(n, 8) % 3 AS BIGINT))] AS marital, ['20', '30', '60'][1 + (CAST(hash(n, 9) % 3 AS BIGINT))] AS edu
        FROM base""")
        # About 3% defective: 1% bad check character, 1% impossible date, 0.5% bad sex code, 0.5% repeated key.
        con.execute("""UPDATE generated SET id = substr(id, 1, 17) || CASE WHEN substr(id, 18, 1) = '0' THEN '1' ELSE '0' END
                       WHERE n % 100 = 7""")
        con.execute("UPDATE generated SET birth = substr(birth, 1, 5) || '02-30' WHERE n % 100 = 13")
        con.execute("UPDATE generated SET sex = '7' WHERE n % 200 = 21")
        con.execute("UPDATE generated SET id = (SELECT g.id FROM generated g WHERE g.n = generated.n - 1) "
                    "WHERE n % 200 = 33")
        if changed:
            con.execute(f"UPDATE generated SET address = address || '（{salt}）' "
                        f"WHERE hash(n, {salt}) % 10000 < {int(changed * 10000)}")
        where = f"WHERE hash(n, {salt}) % 10000 < {int(changed * 10000)}" if only_changed else ""
        con.execute(f"""COPY (SELECT id AS 公民身份号码, name AS 姓名, sex AS 性别代码, birth AS 出生日期, ethnic AS 民族代码,
                                address AS 住址, phone AS 联系电话, division AS 户籍地行政区划代码,
                                marital AS 婚姻状况代码, edu AS 学历代码 FROM generated {where} ORDER BY n)
                        TO {sql_string(str(path))} (HEADER, DELIMITER ',')""")


def baseline(path: Path) -> float:
    with warehouse.session() as con:
        started = time.perf_counter()
        con.execute(f"CREATE TABLE scan AS SELECT * FROM read_csv({sql_string(str(path))}, all_varchar = true)")
        return time.perf_counter() - started


def copy_baseline(database: Database) -> float:
    """Seconds for COPY of the full load's rows into indexed tables like the store's."""
    tables = ("records", "record_keys")
    with database.engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        dumps = {}
        for table in tables:
            cursor.execute(f'CREATE TABLE "bench_{table}" (LIKE "{table}" INCLUDING ALL)')
            buffer = bytearray()
            with cursor.copy(f'COPY "{table}" TO STDOUT') as copy:
                for chunk in copy:
                    buffer += chunk
            dumps[table] = bytes(buffer)
        connection.connection.driver_connection.commit()
        started = time.perf_counter()
        for table in tables:
            with cursor.copy(f'COPY "bench_{table}" FROM STDIN') as copy:
                for at in range(0, len(dumps[table]), 1 << 20):
                    copy.write(dumps[table][at:at + (1 << 20)])
        connection.connection.driver_connection.commit()
        return time.perf_counter() - started


def postgres_database(url: str, folder: Path) -> tuple[Database, callable]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    schema = f"datong_bench_{int(time.time())}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return Database(make_engine(scoped), data_dir=folder / "var"), drop


def main(rows: int, postgres: str | None = None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="datong-bench-"))
    drop = None
    if postgres:
        database, drop = postgres_database(postgres, folder)
    else:
        database = Database(make_engine(f"sqlite:///{folder / 'datong.db'}"), data_dir=folder / "var")
    initialise(database, ACTOR)
    with database.unit_of_work() as session:
        identity.create_department(session, ACTOR, code=DEPT, name="基准测试公安厅")
        code = service.create_resource(session, ACTOR, data=ResourceIn.model_validate({
            "name": "常住人口信息", "provider": DEPT, "category": "1", "class_code": "01", "sharing_type": "unconditional",
            "sharing_methods": ["api"], "open_type": "none", "update_cycle": "daily", "items": ITEMS})).code
    first, second, delta = folder / "full.csv", folder / "reload.csv", folder / "delta.csv"
    generate_csv(first, rows)
    generate_csv(delta, rows, changed=0.01, only_changed=True, salt=10)
    generate_csv(second, rows, changed=0.01, salt=11)

    scan = baseline(first)
    timings = {}
    for name, path, mode in (("full", first, "full"), ("incremental", delta, "incremental"), ("reload", second, "full")):
        started = time.perf_counter()
        load = run_load(database, ACTOR, resource_code=code, source=Source.from_path(path), mode=mode)
        timings[name] = (time.perf_counter() - started, load.counts())
        if name == "full" and postgres:
            copy_seconds = copy_baseline(database)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    database.dispose()
    if drop:
        drop()
    extra = {}
    if postgres:
        extra = {"store": "postgresql", "copy_same_rows_s": round(copy_seconds, 2),
                 "full_vs_copy": round(timings["full"][0] / copy_seconds, 2)}
    return {
        **extra, "rows": rows, "file_mb": round(first.stat().st_size / 1e6, 1),
        "baseline_read_csv_rows_per_s": round(rows / scan),
        "full_load_rows_per_s": round(rows / timings["full"][0]),
        "full_vs_read_csv": round(scan / timings["full"][0], 3),
        "full_load_s": round(timings["full"][0], 2), "full_counts": timings["full"][1],
        "reload_1pct_changed_s": round(timings["reload"][0], 2), "reload_counts": timings["reload"][1],
        "reload_vs_full": round(timings["reload"][0] / timings["full"][0], 3),
        "incremental_1pct_s": round(timings["incremental"][0], 2), "incremental_counts": timings["incremental"][1],
        "incremental_vs_full": round(timings["incremental"][0] / timings["full"][0], 3),
        "peak_memory_mb": round(peak_mb),
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    url = args[args.index("--postgres") + 1] if "--postgres" in args else None
    numbers = [a for a in args if a.isdigit()]
    print(json.dumps(main(int(numbers[0]) if numbers else 5_000_000, url), ensure_ascii=False, indent=2))
