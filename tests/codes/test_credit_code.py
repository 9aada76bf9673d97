import pytest

from datong.codes import validate_credit_code
from datong.codes.credit_code import make_credit_code, org_check_character


def test_a_well_formed_enterprise_code_is_valid_and_explained():
    verdict = validate_credit_code("91350100M000100Y43")
    assert verdict.valid
    assert verdict.facts == {"authority": "市场监督管理", "entity_type": "企业", "division": "350100",
                             "organisation_code": "M000100Y4"}


def test_national_registration_authority_division_is_accepted():
    assert validate_credit_code(make_credit_code("1", "1", "100000", "00001234")).valid


def test_made_codes_validate():
    code = make_credit_code("5", "2", "110105", "MJ0000AB")
    assert validate_credit_code(code).valid
    assert validate_credit_code(code.lower()).valid


def test_organisation_code_check_is_gb_11714():
    # 12345678 → weights 3 7 9 10 5 8 4 2 → sum 201 → 11 - 201 % 11 = 8
    assert org_check_character("12345678") == "8"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "empty"),
        ("91350100M000100Y4", "length"),
        ("9135010OM000100Y43", "characters"),
        ("I1350100M000100Y43", "characters"),
        ("C1350100M000100Y43", "authority"),
        ("94350100M000100Y43", "entity_type"),
        ("91999999M000100Y43", "division"),
        ("91350100M000100Y33", "org_check"),
        ("91350100M000100Y44", "check"),
    ],
)
def test_each_failure_has_its_reason(code, reason):
    verdict = validate_credit_code(code)
    assert (verdict.valid, verdict.reason) == (False, reason)
    assert verdict.explain("en") and verdict.explain("zh-CN") != verdict.explain("en")
