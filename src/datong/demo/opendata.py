"""The demo province's open-data portal: every resource whose open type allows it and that holds
no personal data, published with its files; 户籍人口基本信息 as statistics only (its records are
personal); and one researcher's key application waiting for the bureau."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from datong.catalog.models import Resource
from datong.catalog.vocab import OpenType
from datong.db.engine import Database
from datong.demo.province import PROVINCE_DIVISION
from datong.opendata import files, keys, service
from datong.opendata.models import OpenApiKey, OpenDataset
from datong.security.authz import Actor

STATISTICS_OF = "户籍人口基本信息"


@dataclass
class DemoOpenData:
    published: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def build_demo_open_data(database: Database) -> DemoOpenData:
    actor, report = Actor.system("demo"), DemoOpenData()
    with database.reading() as session:
        resources = list(session.scalars(select(Resource).where(Resource.withdrawn_at.is_(None)).order_by(Resource.code)))
        done = set(session.scalars(select(OpenDataset.resource_id)))
    for resource in resources:
        if resource.id in done:
            continue
        if resource.name == STATISTICS_OF:
            kind = "statistics"
        elif resource.open_type != OpenType.NONE.value:
            if service.personal_items(resource):
                report.refused.append(resource.name)
                continue
            kind = "records"
        else:
            continue
        with database.unit_of_work() as session:
            dataset = service.publish(session, actor, resource_code=resource.code, kind=kind, spatial=PROVINCE_DIVISION,
                                      contact_email=f"opendata@{resource.provider.code.lower()}.example.gov.cn")
            dataset_id, code, access = dataset.id, dataset.code, dataset.access
        try:
            files.build(database, dataset_id)
        except files.NoData:
            pass
        report.published.append(code)
        if access == "conditional":
            with database.reading() as session:
                applied = session.scalar(select(OpenApiKey.id).limit(1))
            if applied is None:
                with database.unit_of_work() as session:
                    keys.apply(session, applicant="陈研究员", organisation="省社会科学院", email="chen@example.edu.cn",
                               purpose="研究市场主体行政许可的地域分布和变化趋势", datasets=[code])
    return report
