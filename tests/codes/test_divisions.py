from datong.codes import lookup_division
from datong.codes.divisions import all_codes
from datong.codes.sex import SEX_CODES, sex_from_sequence


def test_current_code_with_its_name_path():
    division = lookup_division("110105")
    assert division.name == "朝阳区" and not division.retired
    assert division.full_name == "北京市朝阳区"


def test_retired_code_is_known_and_marked():
    division = lookup_division("440524")
    assert division.retired and division.name == "潮阳县"
    assert division.periods[0].end_year == 1992
    assert division.path[0] == "广东省"


def test_unknown_code():
    assert lookup_division("990101") is None


def test_table_is_large_not_hand_typed():
    assert len(all_codes()) > 6000


def test_sex_codes_follow_gb_t_2261_1():
    assert set(SEX_CODES) == {"0", "1", "2", "9"}
    assert sex_from_sequence("7") == "1" and sex_from_sequence("4") == "2"
