"""GB/T 2261.1 sex codes (人的性别代码)."""

from datong.i18n import N_

SEX_CODES = {
    "0": N_("unknown"),
    "1": N_("male"),
    "2": N_("female"),
    "9": N_("not stated"),
}


def sex_from_sequence(sequence_digit: str) -> str:
    """GB 11643: an odd sequence digit is a man (code 1), an even one a woman (code 2)."""
    return "1" if int(sequence_digit) % 2 else "2"
