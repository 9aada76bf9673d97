"""authorize(): the one place that decides who may do what.

Every service that changes state or reads personal data is declared with :func:`service` and
must call :func:`authorize` before it returns; a service that forgets raises
:class:`~datong.errors.UncheckedService`, so its transaction is rolled back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from datong.errors import PermissionDenied, UncheckedService
from datong.i18n import N_, Term
from datong.security.roles import PRIVILEGED, Role

ActorKind = Literal["user", "client", "system", "holder"]


@dataclass(frozen=True)
class Actor:
    """Who is acting: a staff user, a department's API client, the local operator (CLI), or a
    holder (a citizen or company) acting for themselves."""

    kind: ActorKind
    name: str
    id: int | None = None
    department_id: int | None = None
    department_code: str | None = None
    roles: frozenset[Role] = frozenset()
    display_name: str | None = None

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(kind="system", name=f"system:{name}")

    @classmethod
    def holder(cls, key: str, display_name: str | None = None) -> Actor:
        """A person (by ID number) or company (by credit code) acting for themselves, once signed in."""
        return cls(kind="holder", name=f"holder:{key}", display_name=display_name)

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


@dataclass(frozen=True)
class Target:
    """What an action is done to: its kind and key, and the department that owns it."""

    kind: str
    key: str | None = None
    department_id: int | None = None
    extra: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}" if self.key else self.kind


Rule = Callable[[Actor, Target], bool]


def _roles(*roles: Role) -> Rule:
    return lambda actor, target: actor.has(*roles)


def _own_department(*roles: Role) -> Rule:
    return lambda actor, target: actor.has(*roles) and target.department_id == actor.department_id


def _either(*rules: Rule) -> Rule:
    return lambda actor, target: any(rule(actor, target) for rule in rules)


def _grant_role(actor: Actor, target: Target) -> bool:
    if Role(target.key) in PRIVILEGED:
        return actor.has(Role.SECURITY_ADMIN)
    return actor.has(Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.BUREAU_ADMIN) or _own_department(
        Role.DEPT_ADMIN
    )(actor, target)


def _own_system(actor: Actor, target: Target) -> bool:
    """A department's own information system (API client) acting for that department."""
    return actor.kind == "client" and target.department_id == actor.department_id


def _authenticated(actor: Actor, target: Target) -> bool:
    return actor.kind in ("user", "client")


def _holder(actor: Actor, target: Target) -> bool:
    """A citizen or company acting for themselves (their own licences, consents and uses)."""
    return actor.kind == "holder" and actor.name == f"holder:{target.key}"


def _case_party(actor: Actor, target: Target) -> bool:
    """Staff or a system of a department the case concerns (took it in, owns the item, reviews it)."""
    return actor.kind in ("user", "client") and actor.department_id in target.extra.get("departments", ())


_STAFF_ADMINS = (Role.SYSTEM_ADMIN, Role.BUREAU_ADMIN)

#: action → rule. The local operator (CLI, kind "system") may do everything and is audited.
POLICY: dict[str, Rule] = {
    "department.create": _roles(*_STAFF_ADMINS),
    "department.list": _authenticated,
    "user.create": _either(_roles(*_STAFF_ADMINS), _own_department(Role.DEPT_ADMIN)),
    "user.list": _either(
        _roles(*_STAFF_ADMINS, Role.SECURITY_ADMIN, Role.AUDITOR), _own_department(Role.DEPT_ADMIN)
    ),
    "role.grant": _grant_role,
    "client.create": _either(_roles(*_STAFF_ADMINS), _own_department(Role.DEPT_ADMIN)),
    "client.manage": _either(_roles(*_STAFF_ADMINS), _own_department(Role.DEPT_ADMIN)),
    "user.manage": _either(_roles(*_STAFF_ADMINS), _own_department(Role.DEPT_ADMIN)),
    "resource.withdraw": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN)),
    "client.list": _either(
        _roles(*_STAFF_ADMINS, Role.SECURITY_ADMIN, Role.AUDITOR), _own_department(Role.DEPT_ADMIN)
    ),
    "dictionary.edit": _roles(Role.BUREAU_ADMIN),
    "resource.edit": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD)),
    "source.claim": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD)),
    "source.resolve": _roles(Role.BUREAU_ADMIN),
    "data.load": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD), _own_system),
    "load.read": _either(_roles(Role.BUREAU_ADMIN, Role.AUDITOR), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD),
                         _own_system),
    "quality.read": _authenticated,
    "issue.read": _either(_roles(Role.BUREAU_ADMIN, Role.AUDITOR),
                          _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD, Role.CLERK), _own_system),
    "quality.rule": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD)),
    "quality.run": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD)),
    "issue.rectify": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD)),
    "issue.review": _roles(Role.BUREAU_ADMIN),
    "share.request": _either(_own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD, Role.CLERK), _own_system),
    "share.decide": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD)),
    "share.oversee": _roles(Role.BUREAU_ADMIN, Role.AUDITOR),
    "share.read": _authenticated,
    "user.unlock": _roles(Role.SECURITY_ADMIN),
    "registry.build": _roles(Role.BUREAU_ADMIN),
    "registry.precedence": _roles(Role.BUREAU_ADMIN),
    "registry.review": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DATA_STEWARD)),
    "registry.stats": _authenticated,
    "licence.type": _roles(Role.BUREAU_ADMIN),
    "seal.manage": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN)),
    "licence.issue": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD, Role.CLERK),
                             _own_system),
    "licence.manage": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD),
                              _own_system),
    "licence.read": _either(_roles(Role.BUREAU_ADMIN, Role.AUDITOR),
                            _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD, Role.CLERK), _own_system),
    "licence.use": _authenticated,
    "licence.consent": _either(_own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD, Role.CLERK), _own_system),
    "licence.own": _holder,
    "service.item": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN)),
    "service.bundle": _roles(Role.BUREAU_ADMIN),
    "service.measures": _authenticated,
    "case.intake": _either(_own_department(Role.DEPT_ADMIN, Role.CLERK), _own_system),
    "case.own": _holder,
    "case.read": _either(_roles(Role.BUREAU_ADMIN, Role.AUDITOR), _case_party),
    "case.list": _authenticated,
    "case.review": _either(_own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD, Role.CLERK), _own_system),
    "case.rate": _own_department(Role.CLERK, Role.DEPT_ADMIN),
    "followup.read": _either(_roles(Role.BUREAU_ADMIN, Role.AUDITOR), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD,
                                                                                       Role.CLERK)),
    "followup.manage": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN, Role.DATA_STEWARD, Role.CLERK)),
    "holder.own": _holder,
    "flag.manage": _roles(Role.AUDITOR),
    "opendata.publish": _either(_roles(Role.BUREAU_ADMIN), _own_department(Role.DEPT_ADMIN)),
    "opendata.keys": _roles(Role.BUREAU_ADMIN),
    "assessment.read": _roles(Role.BUREAU_ADMIN, Role.AUDITOR, Role.DEPT_ADMIN),
    "assessment.configure": _roles(Role.BUREAU_ADMIN),
    "audit.read": _roles(Role.AUDITOR),
    "audit.verify": _roles(Role.AUDITOR),
}

#: What each action is called in a refusal ("You are not allowed to …").
ACTION_LABELS = {
    "department.create": N_("register departments"),
    "department.list": N_("see the departments"),
    "user.create": N_("create accounts in this department"),
    "user.list": N_("see these accounts"),
    "user.unlock": N_("unlock accounts"),
    "role.grant": N_("grant this role"),
    "client.create": N_("register systems for this department"),
    "client.manage": N_("disable systems or renew their secrets for this department"),
    "user.manage": N_("disable accounts, reset passwords or change roles in this department"),
    "resource.withdraw": N_("withdraw this department's resources"),
    "client.list": N_("see these systems"),
    "dictionary.edit": N_("change the data element dictionary"),
    "resource.edit": N_("edit this department's catalog"),
    "source.claim": N_("claim authoritative sources for this department"),
    "source.resolve": N_("decide between conflicting authoritative sources"),
    "data.load": N_("load data for this department's resources"),
    "load.read": N_("see this department's loads and rejected rows"),
    "quality.read": N_("see quality scores"),
    "issue.read": N_("see this department's quality issues"),
    "quality.rule": N_("declare quality rules for this department's resources"),
    "quality.run": N_("run the quality rules on this department's resources"),
    "issue.rectify": N_("work on this department's quality issues"),
    "issue.review": N_("reopen or close quality issues for the bureau"),
    "share.request": N_("request data for this department"),
    "share.decide": N_("decide requests for this department's data"),
    "share.oversee": N_("see every department's requests and grants"),
    "share.read": N_("read shared data"),
    "registry.build": N_("build the registries"),
    "registry.precedence": N_("set the registries' source precedence"),
    "registry.review": N_("review the registries' record links"),
    "registry.stats": N_("see the registries' statistics"),
    "licence.type": N_("define licence types"),
    "seal.manage": N_("manage this department's seals"),
    "licence.issue": N_("issue licences for this department"),
    "licence.manage": N_("revoke, suspend or restore this department's licences"),
    "licence.read": N_("see this department's licences"),
    "licence.use": N_("use a holder's licences"),
    "licence.consent": N_("record a holder's authorisation for this department"),
    "licence.own": N_("act for this holder"),
    "service.item": N_("define this department's service items"),
    "service.bundle": N_("define 一件事 bundles"),
    "service.measures": N_("see the one window's measures"),
    "case.intake": N_("take in applications for this department"),
    "case.own": N_("act for this applicant"),
    "case.read": N_("see this case"),
    "case.list": N_("see cases"),
    "case.review": N_("review this department's cases"),
    "case.rate": N_("record the applicant's rating at this window"),
    "followup.read": N_("see this department's follow-ups"),
    "followup.manage": N_("work on this department's follow-ups"),
    "holder.own": N_("see this person's or company's own space"),
    "flag.manage": N_("look into flagged uses of personal data"),
    "opendata.publish": N_("publish this department's data on the open-data portal"),
    "opendata.keys": N_("decide open-data API keys"),
    "assessment.read": N_("see the departments' assessment"),
    "assessment.configure": N_("set the assessment's weights and targets"),
    "audit.read": N_("read the audit log"),
    "audit.verify": N_("verify the audit chain"),
}

_checked: ContextVar[list[bool] | None] = ContextVar("datong_authorized", default=None)


def is_allowed(actor: Actor, action: str, target: Target) -> bool:
    if action not in POLICY:
        raise KeyError(f"no policy for action {action!r}")
    return actor.kind == "system" or POLICY[action](actor, target)


def authorize(actor: Actor, action: str, target: Target) -> None:
    """Allow ``actor`` to do ``action`` to ``target``, or raise PermissionDenied (which the unit
    of work records in the audit chain after rolling back)."""
    box = _checked.get()
    if box is not None:
        box[0] = True
    if not is_allowed(actor, action, target):
        denied = PermissionDenied(action=Term(ACTION_LABELS.get(action, action)))
        denied.audit = {"actor": actor, "action": action, "target": str(target), "outcome": "denied"}
        raise denied


SERVICES: dict[str, dict] = {}


def service(*, mutates: bool, personal: bool = False):
    """Declare a service function; those that mutate or read personal data must authorize."""

    def decorate(fn):
        name = f"{fn.__module__}.{fn.__qualname__}"
        SERVICES[name] = {"mutates": mutates, "personal": personal}

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            box = [False]
            token = _checked.set(box)
            try:
                result = fn(*args, **kwargs)
            finally:
                _checked.reset(token)
            if (mutates or personal) and not box[0]:
                raise UncheckedService(f"{name} returned without calling authorize()")
            return result

        wrapper.__datong_service__ = SERVICES[name]
        return wrapper

    return decorate
