"""GB/T 36904 licence identifiers: the MOD 37,36 check character against python-stdnum, lenient
provincial forms and the reasons for refusals."""

from __future__ import annotations

import random

import pytest
from stdnum.iso7064 import mod_37_36
from typer.testing import CliRunner

from datong.cli import app
from datong.codes.licence_id import ALPHABET, check_character, make_licence_id, parse_licence_id, validate_licence_id

TYPE, ISSUER = "11100000000013338W001", "11330100002489432F"


def test_check_character_agrees_with_an_independent_implementation():
    rng = random.Random(7)
    for _ in range(500):
        payload = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 60)))
        assert check_character(payload) == mod_37_36.calc_check_digit(payload)
        assert mod_37_36.is_valid(payload + check_character(payload))


def test_made_identifiers_are_valid_and_carry_their_parts():
    ident = make_licence_id(TYPE, ISSUER, "00000042", 3)
    verdict = validate_licence_id(ident)
    assert verdict.valid and ident.startswith("1.2.156.3005.2.")
    parsed = verdict.facts["id"]
    assert (parsed.type_code, parsed.issuer, parsed.serial, parsed.version) == (TYPE, ISSUER, "00000042", "003")
    assert parsed.family == f"{TYPE}.{ISSUER}.00000042"


def test_lenient_forms_are_accepted_and_say_what_was_forgiven():
    ident = make_licence_id(TYPE, ISSUER, "A7", 1)
    loose = ident.removeprefix("1.2.156.3005.2.").lower().replace(".001.", ".1.").replace(".", "．", 1)
    verdict = parse_licence_id(loose)
    assert verdict.valid and verdict.normalised == ident
    assert set(verdict.facts["lenient"]) == {"prefix", "case", "version", "width"}
    assert not validate_licence_id(loose).valid  # strict refuses the same text


@pytest.mark.parametrize("broken, reason", [
    ("", "empty"),
    ("1.2.156.3005.2.111.11330100002489432F.1.001.X", "licence_type"),
    (f"1.2.156.3005.2.{TYPE}.113301000024894I2F.1.001.X", "licence_issuer"),
    (f"1.2.156.3005.2.{TYPE}.{ISSUER}.1.01A.X", "licence_version"),
    (f"1.2.156.3005.2.{TYPE}.{ISSUER}.1.001", "licence_parts"),
])
def test_refusals_name_the_part(broken, reason):
    verdict = parse_licence_id(broken)
    assert not verdict.valid and verdict.reason == reason
    assert verdict.explain("zh-CN") != verdict.explain("en")


def test_a_wrong_check_character_says_which_is_right():
    ident = make_licence_id(TYPE, ISSUER, "99", 1)
    wrong = ident[:-1] + ("0" if ident[-1] != "0" else "1")
    verdict = validate_licence_id(wrong)
    assert verdict.reason == "check" and verdict.params["expected"] == ident[-1]


def test_cli_checks_identifiers_and_exits_nonzero_on_a_bad_one():
    good = make_licence_id(TYPE, ISSUER, "5", 1)
    result = CliRunner().invoke(app, ["--lang", "en", "codes", "licence", good, good.lower()])
    assert result.exit_code == 0 and "lower-case letters were made capitals" in result.output
    bad = CliRunner().invoke(app, ["--lang", "en", "codes", "licence", good[:-1] + "?"])
    assert bad.exit_code == 1 and "BAD" in bad.output
