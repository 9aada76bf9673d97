"""A population resource of the test department, and CSV writing."""

import csv

import pytest

from datong.catalog import service
from datong.catalog.schemas import ResourceIn
from tests.helpers import DEPT_CODE, POPULATION_ITEMS, resource_body


@pytest.fixture
def population(database, operator, world) -> str:
    body = resource_body(DEPT_CODE, name="常住人口信息", items=POPULATION_ITEMS, update_cycle="daily")
    with database.unit_of_work() as session:
        return service.create_resource(session, operator, data=ResourceIn.model_validate(body)).code


def write_csv(path, header, rows, encoding="utf-8", delimiter=","):
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path
