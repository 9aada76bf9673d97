"""The licence catalogue in Excel: export, import back unchanged, and refusals that name the row
and column, landing nothing."""

import io

from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from datong.cli import app as cli
from datong.licenses import service, transfer
from datong.licenses.models import LicenceType
from tests.helpers import cli_env


def test_export_then_import_round_trips_and_a_bad_row_lands_nothing(settings, database, library, tmp_path):
    with database.reading() as session:
        content = transfer.export_licence_types(service.list_licence_types(session))
    path = tmp_path / "types.xlsx"
    path.write_bytes(content)
    runner = CliRunner()
    again = runner.invoke(cli, ["--lang", "en", "licence", "import-types", str(path)], env=cli_env(settings))
    assert again.exit_code == 0 and "1 licence types saved: 结婚证" in again.output
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    sheet.append(["11100000000013127D002", "离婚证", "民政部", "", "外星人", "", "", "", "", "持证人", "DE0002", "是", ""])
    sheet.append(["111000000000131", "出生证", "卫健委", "", "自然人", "", "", "", "", "新生儿", "", "是", ""])
    broken = io.BytesIO()
    book.save(broken)
    (tmp_path / "broken.xlsx").write_bytes(broken.getvalue())
    refused = runner.invoke(cli, ["--lang", "en", "licence", "import-types", str(tmp_path / "broken.xlsx")],
                            env=cli_env(settings))
    assert refused.exit_code == 2
    assert "证照目录 #7 持证主体" in refused.output and "#8 证照类型代码" in refused.output
    with database.reading() as session:
        assert session.scalar(select(func.count()).select_from(LicenceType)) == 1


def test_a_formula_looking_name_is_exported_as_text(database, operator, library):
    from tests.licenses.conftest import marriage_spec

    with database.unit_of_work() as session:
        service.save_licence_type(session, operator, spec=marriage_spec(code="11100000000013127D009",
                                                                           name="=HYPERLINK(\"x\")"))
        content = transfer.export_licence_types(service.list_licence_types(session))
    cells = [c for row in load_workbook(io.BytesIO(content)).active.iter_rows() for c in row
             if c.value == '=HYPERLINK("x")']
    assert cells and all(c.data_type == "s" for c in cells)
