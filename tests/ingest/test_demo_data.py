"""The demo's generated data: real divisions and check characters, defects at the stated rates,
and loads that reject exactly the defective rows."""

import pytest

from datong.codes.divisions import lookup_division
from datong.codes.id_number import validate_id_number
from datong.demo.people import RATES, generate, rows_for
from tests.cli.test_cli import run

ITEMS = [("公民身份号码", "DE0001", "person"), ("姓名", "DE0002", None), ("出生日期", "DE0004", None)]


def test_people_have_real_divisions_and_valid_numbers():
    population = generate(3000, seed=7)
    assert len({p.id_number for p in population.people}) == 3000
    for person in population.people[:500]:
        assert validate_id_number(person.id_number).valid, person
        assert not lookup_division(person.id_number[:6]).retired
        assert person.id_number[6:14] == f"{person.birth:%Y%m%d}"
        assert int(person.id_number[16]) % 2 == (1 if person.sex == "1" else 0)
    assert generate(3000, seed=7).people[:20] == population.people[:20]  # reproducible


def test_defects_are_injected_at_the_stated_rates():
    population = generate(5000, seed=3)
    header, rows, injected = rows_for(population, ITEMS, 1.0)
    assert header == ["公民身份号码", "姓名", "出生日期"]
    assert injected == {name: int(5000 * rate) for name, rate in RATES.items()}
    assert len(rows) == 5000 + injected["duplicate"]
    invalid = sum(1 for r in rows if not validate_id_number(r[0].translate({0xFF10 + d: 48 + d for d in range(10)})).valid)
    assert invalid == injected["bad_check"]


@pytest.fixture
def settings(settings):
    """The demo subscribes HR to a receiver on the hub itself (127.0.0.1), allowed as in development."""
    return settings.model_copy(update={"callback_allow": "127.0.0.1"})


def test_the_demo_loads_the_catalog_and_rejects_the_defects(settings, database):
    from sqlalchemy import func, select

    from datong.store.models import Load, RecordKey
    from datong.quality.models import QualityIssue

    result = run(settings, "demo", "--no-serve", "--people", "2000")
    assert result.exit_code == 0, result.output
    with database.unit_of_work() as session:
        loads = {load.resource.name: load for load in session.scalars(select(Load))}
        # 18 departments' resources and the bureau's two registries, by resource
        assert len(loads) == 20 and all(load.status == "committed" for load in loads.values())
        population = loads["户籍人口基本信息"]
        assert (population.read, population.rejected) == (2000 + 4, 8 + 6 + 4)  # rates of 2,000 rows
        assert loads["社会保险参保信息"].encoding == "gb18030" and loads["出生医学证明信息"].source_kind == "xlsx"
        assert session.scalar(select(func.count()).select_from(RecordKey)) > 2000
        rules = {i.rule for i in session.scalars(select(QualityIssue))}
        assert {"公民身份号码:id_number", "unique_key", "timeliness", "姓名:cross_source"} <= rules
    from datong.sharing.models import Delivery, Grant, ShareRequest
    from datong.sharing.service import grant_state

    with database.unit_of_work() as session:
        statuses = sorted(r.status for r in session.scalars(select(ShareRequest)))
        # the 政务服务中心's window on both registries too
        assert statuses == ["approved"] * 7 + ["pending", "rejected"]
        states = sorted(grant_state(g) for g in session.scalars(select(Grant)))
        assert states == ["active"] * 6 + ["expired"]  # 民政 on 人口综合库 too
        deliveries = list(session.scalars(select(Delivery)))
        assert len(deliveries) == 3 and {d.event for d in deliveries} == {"inserted"}
    from datong.registry.models import Link, Subject

    with database.unit_of_work() as session:
        methods = dict(session.execute(select(Link.method, func.count()).group_by(Link.method)).all())
        assert session.scalar(select(func.count()).select_from(Subject).where(Subject.kind == "person")) > 1900
        assert methods["model"] > 20 and methods["old_code"] > 0  # 低保 and 学籍 without IDs; 食品许可 by 注册号
        assert session.scalar(select(func.count()).select_from(Link).where(Link.suspect.is_not(None))) >= 1
        before = session.scalar(select(func.count()).select_from(Load))
    again = run(settings, "demo", "--no-serve", "--people", "2000")
    with database.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Load)) == before  # idempotent
    assert again.exit_code == 0
    from datong.services.models import Bundle, Case, Rating, ServiceItem

    with database.unit_of_work() as session:  # the one window: items, bundles, cases in several states
        assert session.scalar(select(func.count()).select_from(ServiceItem)) == 9
        assert {b.name for b in session.scalars(select(Bundle))} == {"出生一件事", "开办企业一件事", "退休一件事"}
        cases = list(session.scalars(select(Case).where(Case.parent_id.is_(None))))
        assert sum(c.automatic for c in cases) == 4 and {"completed", "in_review"} <= {c.status for c in cases}
        assert session.scalar(select(func.count()).select_from(Rating).where(Rating.level <= 2)) == 1
