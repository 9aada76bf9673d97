"""GB/T 36904 electronic licence identifier (电子证照标识).

``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>``: the OID arc the national
platform uses, the licence type code (GB/T 36902: the defining authority's credit code and a
three-digit sequence), the issuing department's credit code, the licence's serial number, a
three-digit version and one check character, ISO/IEC 7064 MOD 37,36 over type + issuer + serial +
version.

Provinces write the same identifier in looser forms: lower case, full-width dots, a version without
its zeros, no OID prefix. :func:`parse_licence_id` accepts these and says which liberty was taken;
:func:`validate_licence_id` is strict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from datong.codes.verdict import REASONS, Verdict, invalid
from datong.i18n import N_

PREFIX = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PART = re.compile(r"[0-9A-Z]+")
_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")

REASONS.update({
    "licence_parts": N_("it has {parts} dot-separated parts after the prefix; type, issuer, serial, version and "
                        "check are required"),
    "licence_prefix": N_("it does not start with {prefix}"),
    "licence_type": N_("the type code {type_code} should be 18 credit-code characters and a 3-digit sequence"),
    "licence_issuer": N_("the issuer code {issuer} is not an 18-character credit code"),
    "licence_serial": N_("the serial {serial} should be 1 to 32 digits or capital letters"),
    "licence_version": N_("the version {version} should be three digits"),
})
#: The liberties :func:`parse_licence_id` forgives, as people read them.
LENIENCIES = {
    "case": N_("lower-case letters were made capitals"),
    "width": N_("full-width characters were made half-width"),
    "prefix": N_("the 1.2.156.3005.2 prefix was missing"),
    "version": N_("the version was padded to three digits"),
    "spaces": N_("spaces were removed"),
}


def check_character(payload: str) -> str:
    """ISO/IEC 7064 MOD 37,36 (the hybrid system over 0-9A-Z) for ``payload``."""
    modulus, product = 36, 36
    for char in payload:
        total = (product + ALPHABET.index(char)) % modulus or modulus
        product = (total * 2) % (modulus + 1)
    return ALPHABET[(modulus + 1 - product) % modulus]


@dataclass(frozen=True)
class LicenceId:
    type_code: str
    issuer: str
    serial: str
    version: str
    check: str
    lenient: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return f"{PREFIX}.{self.type_code}.{self.issuer}.{self.serial}.{self.version}.{self.check}"

    @property
    def family(self) -> str:
        """Every version of one licence shares this: type, issuer and serial."""
        return f"{self.type_code}.{self.issuer}.{self.serial}"


def make_licence_id(type_code: str, issuer: str, serial: str, version: int = 1) -> str:
    ver = f"{version:03d}"
    return str(LicenceId(type_code, issuer, serial, ver, check_character(type_code + issuer + serial + ver)))


def _tidy(value: str) -> tuple[str, list[str]]:
    taken = []
    half = value.translate({0xFF0E: ".", 0x3002: ".", **{0xFF10 + i: ord("0") + i for i in range(10)},
                            **{0xFF21 + i: ord("A") + i for i in range(26)},
                            **{0xFF41 + i: ord("a") + i for i in range(26)}})
    if half != value:
        taken.append("width")
    if re.search(r"\s", half):
        half, _ = re.subn(r"\s+", "", half)
        taken.append("spaces")
    if half != half.upper():
        taken.append("case")
    return half.upper(), taken


def parse_licence_id(value: str, *, strict: bool = False) -> Verdict:
    """The identifier's parts and whether its check character holds. With ``strict`` only the
    canonical form is accepted; otherwise the verdict's ``facts['lenient']`` lists what was forgiven."""
    if not (value or "").strip():
        return invalid(value, "empty")
    text, taken = (value, []) if strict else _tidy(value)
    if text.startswith(PREFIX + "."):
        rest = text[len(PREFIX) + 1:]
    elif strict or text.count(".") != 4:
        return invalid(value, "licence_prefix", prefix=PREFIX)
    else:
        rest, taken = text, taken + ["prefix"]
    parts = rest.split(".")
    if len(parts) != 5:
        return invalid(value, "licence_parts", parts=len(parts))
    type_code, issuer, serial, version, check = parts
    if not (len(type_code) == 21 and _CODE.fullmatch(type_code[:18]) and type_code[18:].isdigit()):
        return invalid(value, "licence_type", type_code=type_code)
    if not _CODE.fullmatch(issuer):
        return invalid(value, "licence_issuer", issuer=issuer)
    if not (1 <= len(serial) <= 32 and _PART.fullmatch(serial)):
        return invalid(value, "licence_serial", serial=serial)
    if not strict and version.isdigit() and len(version) < 3:
        version, taken = version.zfill(3), taken + ["version"]
    if not (len(version) == 3 and version.isdigit()):
        return invalid(value, "licence_version", version=version)
    expected = check_character(type_code + issuer + serial + version)
    if check != expected:
        return invalid(value, "check", actual=check, expected=expected)
    parsed = LicenceId(type_code, issuer, serial, version, check, tuple(taken))
    return Verdict(value=value, valid=True, normalised=str(parsed), facts={"id": parsed, "lenient": list(taken)})


def validate_licence_id(value: str) -> Verdict:
    return parse_licence_id(value, strict=True)
