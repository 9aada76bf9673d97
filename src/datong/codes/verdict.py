"""The answer of a code check: valid or not, and why, in words a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field

from datong.i18n import N_, translate

REASONS = {
    "empty": N_("the value is empty"),
    "length": N_("it has {length} characters; {expected} are required"),
    "characters": N_("it contains characters that are not allowed ({allowed})"),
    "division": N_("division code {division} is not a GB/T 2260 code"),
    "birth_date": N_("birth date {birth} is not a real date"),
    "birth_future": N_("birth date {birth} is in the future"),
    "check": N_("the check character is {actual}; it should be {expected}"),
    "authority": N_("registration authority code {authority} is not defined in GB 32100"),
    "entity_type": N_("entity type {entity_type} is not defined for registration authority {authority}"),
    "org_check": N_("the organisation code {org} has a wrong check character; it should be {expected}"),
}


@dataclass(frozen=True)
class Verdict:
    value: str
    valid: bool
    reason: str | None = None  # a key of REASONS, shared with the vectorised checks
    params: dict = field(default_factory=dict)
    normalised: str | None = None
    facts: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.explain("en")

    def localise(self, locale: str) -> str:
        return self.explain(locale)

    def explain(self, locale: str = "en") -> str:
        if self.valid:
            return translate(locale, N_("valid"))
        return translate(locale, REASONS[self.reason], **self.params)


def invalid(value: str, reason: str, **params: object) -> Verdict:
    return Verdict(value=value, valid=False, reason=reason, params=params)
