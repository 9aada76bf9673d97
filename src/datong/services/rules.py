"""Automatic approval (无人干预自动办理): rules over authoritative data.

A rule decides yes or no only over a value the hub filled from an authoritative source, unchanged,
with no other source disagreeing. Anything else (no value, a value the applicant typed, sources
in conflict) leaves the rule undecided, and an undecided or failed rule sends the case to a
person: the engine approves, it never refuses. Every evaluation is kept as a trace.
"""

from __future__ import annotations

from datetime import date

from datong.errors import InvalidInput
from datong.i18n import N_, Message, Term

OPS = {
    "age_at_least": N_("aged {value} or more"),
    "empty": N_("no value (e.g. no date of death)"),
    "present": N_("has a value"),
    "equals": N_("equals {value}"),
    "starts_with": N_("starts with {value}"),
    "not_already": N_("not already granted {item}"),
}
YES, NO, UNDECIDED = "yes", "no", "undecided"


def check(rules: list[dict], fields: list[dict]) -> list[dict]:
    names = {f["name"] for f in fields}
    out = []
    for n, rule in enumerate(rules or []):
        op = rule.get("op")
        if op not in OPS:
            raise InvalidInput(field=f"auto_rules[{n}]", reason=Message(N_("one of {ops}"), ops=", ".join(OPS)))
        if op != "not_already" and rule.get("field") not in names:
            raise InvalidInput(field=f"auto_rules[{n}]", reason=Message(N_("the form has no field {field}"),
                                                                       field=str(rule.get("field"))))
        if op in ("age_at_least", "equals", "starts_with") and rule.get("value") in (None, ""):
            raise InvalidInput(field=f"auto_rules[{n}]", reason=Term(N_("this rule needs a value")))
        out.append({k: rule[k] for k in ("op", "field", "value", "item") if rule.get(k) not in (None, "")})
    return out




def _as_date(value: str) -> date | None:
    text = str(value).strip().replace("-", "").replace("/", "")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) == 8 else None
    except ValueError:
        return None


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _one(rule: dict, value, today: date, already: set[str], own: str) -> tuple[str, str]:
    op = rule["op"]
    if op == "not_already":
        return (NO, "already granted") if rule.get("item", own) in already else (YES, "")
    if op == "empty":
        return (YES, "") if value in (None, "") else (NO, str(value))
    if value in (None, ""):
        return UNDECIDED, "no value"
    if op == "present":
        return YES, ""
    if op == "age_at_least":
        born = _as_date(value)
        if born is None:
            return UNDECIDED, "not a date"
        age = _age(born, today)
        return (YES if age >= int(rule["value"]) else NO), f"age {age}"
    if op == "equals":
        return (YES if str(value) == str(rule["value"]) else NO), ""
    return (YES if str(value).startswith(str(rule["value"])) else NO), ""


def evaluate(rules: list[dict], form: dict, sources: dict, *, today: date, already: set[str],
             own: str) -> tuple[str, list[dict]]:
    """(yes | no | undecided, trace): yes only when every rule says yes over authoritative values."""
    trace = []
    for rule in rules:
        name = rule.get("field")
        source = sources.get(name, {}) if name else {}
        value = form.get(name) if name else None
        if name and source.get("kind") not in ("registry", "licence"):
            verdict, why = (UNDECIDED, "not from an authoritative source")
        elif name and source.get("edited"):
            verdict, why = UNDECIDED, "changed at the window"
        elif name and source.get("conflict"):
            verdict, why = UNDECIDED, "sources disagree"
        else:
            verdict, why = _one(rule, value, today, already, own)
        trace.append({**rule, "seen": None if value is None else str(value), "source": source.get("label"),
                      "verdict": verdict, "why": why})
    verdicts = {t["verdict"] for t in trace}
    if not trace:
        return UNDECIDED, trace
    return (YES if verdicts == {YES} else NO if NO in verdicts else UNDECIDED), trace
