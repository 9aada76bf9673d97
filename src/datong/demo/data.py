"""Load generated data into the demo catalog the way departments send it: CSV in UTF-8, GBK and
GB18030, Excel and JSON Lines, with their defects, through the same loads a department makes."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from datong.catalog.models import Resource
from datong.db.engine import Database
from datong.ingest.flows import run_load
from datong.store.models import COMMITTED, Load
from datong.ingest.sources import Source
from datong.quality.flows import run_quality
from datong.security.authz import Actor

from datong.demo.defects import RATES, inject_person_defects
from datong.demo.people import generate, rows_for

#: resource name → (share of the population or of the companies, file format, encoding)
PLAN = {
    "户籍人口基本信息": (1.0, "csv", "utf-8"),
    "流动人口居住登记信息": (0.1, "csv", "utf-8"),
    "社会保险参保信息": (0.6, "csv", "gbk"),
    "就业登记信息": (0.4, "csv", "gbk"),
    "婚姻登记信息": (0.2, "csv", "gb18030"),
    "死亡登记信息": (0.01, "csv", "gb18030"),
    "社会组织登记信息": (0.1, "csv", "gb18030"),
    "企业登记信息": (1.0, "csv", "utf-8-sig"),
    "行政处罚信息": (0.2, "csv", "utf-8-sig"),
    "不动产登记信息": (0.25, "csv", "utf-8"),
    "不动产查封登记信息": (0.01, "csv", "utf-8"),
    "出生医学证明信息": (0.02, "xlsx", None),
    "医疗机构执业登记信息": (0.05, "xlsx", None),
    "学历学位信息": (0.3, "jsonl", None),
    "学校名录": (0.05, "jsonl", None),
    "最低生活保障对象信息": (0.03, "csv", "gbk"),
    "学籍信息": (0.15, "jsonl", None),
    "食品经营许可信息": (0.3, "csv", "utf-8"),
}
#: Resources whose people come with the defects the registry must overcome (datong.demo.defects).
PERSON_DEFECTS = {"最低生活保障对象信息": RATES,
                  "学籍信息": {**RATES, "no_id": 0.05, "homophone": 0.04}}
STALE = "流动人口居住登记信息"  # loaded, then left longer than its daily promise


@dataclass
class DemoData:
    loads: dict[str, dict] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def person_columns(items: list[tuple[str, str | None, str | None]]) -> dict[str, int]:
    """Where a resource's ID, name, birth date and address are, for the defects."""
    wanted = {"DE0001": "id", "DE0002": "name", "DE0004": "birth", "DE0008": "address"}
    return {wanted[e]: i for i, (_, e, _) in enumerate(items) if e in wanted}


def _write(path: Path, header: list[str], rows: list[list[str]], fmt: str, encoding: str | None) -> Path:
    if fmt == "csv":
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    elif fmt == "xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet("数据")
        sheet.append([f"{path.stem}（示范数据）"])
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        book.save(path)
    else:
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(dict(zip(header, row)), ensure_ascii=False) + "\n")
    return path


def load_demo_data(database: Database, actor: Actor, *, people: int = 100_000, seed: int = 2026,
                   progress=None) -> DemoData:
    """Generate and load data for every demo resource that has none yet (idempotent)."""
    result = DemoData()
    with database.unit_of_work() as session:
        resources = {r.name: (r.code, [(i.name, i.element.identifier if i.element else None, i.key_kind)
                                      for i in r.items])
                     for r in session.scalars(select(Resource).where(Resource.name.in_(PLAN)))}
        loaded = set(session.scalars(select(Resource.name).join(Load, Load.resource_id == Resource.id)
                                     .where(Load.status == COMMITTED)))
    pending = [name for name in PLAN if name in resources and name not in loaded]
    result.skipped = [name for name in PLAN if name in loaded]
    if not pending:
        return result
    population = generate(people, seed=seed)
    folder = database.data_dir / "demo-data"
    folder.mkdir(parents=True, exist_ok=True)
    for name in pending:  # PLAN's order: public security first, the source of names and birth dates
        code, items = resources[name]
        share, fmt, encoding = PLAN[name]
        header, rows, injected = rows_for(population, items, share, authoritative=name == "户籍人口基本信息")
        if name in PERSON_DEFECTS:
            columns = person_columns(items)
            applied = inject_person_defects(rows, columns, random.Random(f"{seed}:{name}"), PERSON_DEFECTS[name],
                                            others=[p.id_number for p in population.people[:1000]])
            injected = {**injected, **Counter(applied.values())}
        path = _write(folder / f"{name}.{fmt}", header, rows, fmt, encoding)
        if progress:
            progress(name, len(rows))
        load = run_load(database, actor, resource_code=code, source=Source.from_path(path), mode="full")
        result.loads[name] = {"code": code, "file": path.name, "injected": injected, **load.counts()}
    if STALE in pending:
        code = resources[STALE][0]
        with database.unit_of_work() as session:
            last = session.scalars(select(Load).join(Resource).where(Resource.code == code)
                                   .order_by(Load.id.desc())).first()
            last.finished_at = datetime.now(UTC) - timedelta(days=10)
        run_quality(database, actor, resource_code=code)
    return result
