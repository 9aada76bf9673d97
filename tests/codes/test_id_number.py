from datetime import date

import pytest

from datong.codes import upgrade_id_number, validate_id_number
from datong.codes.id_number import check_character


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014", "11010519491231002x"])
def test_published_examples_are_valid(number):
    verdict = validate_id_number(number)
    assert verdict.valid, verdict.explain()
    assert verdict.normalised == number.upper()


def test_facts_are_read_from_the_number():
    verdict = validate_id_number("11010519491231002X")
    assert verdict.facts == {"division": "110105", "birth_date": "1949-12-31", "sex": "2", "legacy_15": False}
    assert validate_id_number("440524188001010014").facts["sex"] == "1"


def test_check_character_is_iso_7064_mod_11_2():
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("number", "reason", "english"),
    [
        ("", "empty", "the value is empty"),
        ("1101051949123100", "length", "it has 16 characters; 18 are required"),
        ("11010519491231002Y", "characters", "it contains characters that are not allowed (0-9, X)"),
        ("99010519491231002X", "division", "division code 990105 is not a GB/T 2260 code"),
        ("110105194902300021", "birth_date", "birth date 19490230 is not a real date"),
        ("110105209901010021", "birth_future", "birth date 20990101 is in the future"),
        ("110105194912310021", "check", "the check character is 1; it should be X"),
    ],
)
def test_each_failure_has_its_reason(number, reason, english):
    verdict = validate_id_number(number, today=date(2026, 11, 23))
    assert not verdict.valid
    assert verdict.reason == reason
    assert verdict.explain("en") == english


def test_reasons_are_translated():
    assert validate_id_number("110105194912310021").explain("zh-CN") == "校验码为 1，应为 X"


def test_fifteen_digit_form_upgrades_to_eighteen():
    legacy = "110105491231002"
    assert upgrade_id_number(legacy) == "11010519491231002X"
    verdict = validate_id_number(legacy)
    assert verdict.valid and verdict.normalised == "11010519491231002X" and verdict.facts["legacy_15"]


def test_upgrade_refuses_anything_but_fifteen_digits():
    with pytest.raises(ValueError):
        upgrade_id_number("11010519491231002X")
