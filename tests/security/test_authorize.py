"""authorize() is called by every service that changes state or reads personal data."""

import importlib
import inspect
import pkgutil

import pytest
from sqlalchemy import select, text

import datong
from datong.errors import InvalidInput, PermissionDenied, UncheckedService
from datong.security import service
from datong.security.authz import SERVICES, Actor, Target, authorize, is_allowed
from datong.security.authz import service as service_decorator
from datong.security.models import AuditEvent, Department
from datong.security.roles import Role, separation_conflicts
from tests.helpers import DEPT_CODE, OTHER_CODE, PASSWORD


def _service_modules():
    for info in pkgutil.walk_packages(datong.__path__, "datong."):
        if info.name.endswith(".service") or info.name.endswith(".audit"):
            yield importlib.import_module(info.name)


def test_every_public_service_function_is_declared():
    """Service functions take (session, actor, *, ...); each must be declared with @service so
    that a missing authorize() call fails. (append_event takes the actor by keyword: it is the
    audit primitive the services call, not a service.)"""
    undeclared = []
    for module in _service_modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            params = inspect.signature(fn).parameters
            acts = "actor" in params and params["actor"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            if acts and not hasattr(fn, "__datong_service__"):
                undeclared.append(f"{module.__name__}.{name}")
    assert undeclared == []
    assert "datong.security.service.create_user" in SERVICES


def test_a_mutating_service_that_forgets_to_authorize_fails_and_leaves_nothing(database, operator):
    @service_decorator(mutates=True)
    def sloppy(session, actor):
        session.add(Department(code=DEPT_CODE, name="未经授权的部门"))
        session.flush()

    with pytest.raises(UncheckedService):
        with database.unit_of_work() as session:
            sloppy(session, operator)
    with database.unit_of_work() as session:
        assert session.scalar(select(Department)) is None


def test_reading_services_need_not_authorize_but_mutating_ones_must():
    assert SERVICES["datong.security.service.create_department"]["mutates"]
    assert SERVICES["datong.security.audit.list_audit_events"]["personal"]


def _actor(session, username):
    from datong.security.models import User

    return service.actor_for_user(session.scalar(select(User).where(User.username == username)))


def test_dept_admin_creates_accounts_only_in_own_department(database, world):
    with database.unit_of_work() as session:
        admin = _actor(session, "dadmin")
        service.create_user(session, admin, username="steward2", display_name="S", department_code=DEPT_CODE,
                            roles=["data_steward"], password=PASSWORD)
    with pytest.raises(PermissionDenied), database.unit_of_work() as session:
        service.create_user(session, _actor(session, "dadmin"), username="intruder", display_name="I",
                            department_code=OTHER_CODE, roles=["clerk"], password=PASSWORD)


def test_privileged_roles_are_granted_by_the_security_administrator_only(database, world):
    with pytest.raises(PermissionDenied), database.unit_of_work() as session:
        service.create_user(session, _actor(session, "sys"), username="aud2", display_name="A",
                            department_code=world["bureau"], roles=["auditor"], password=PASSWORD)
    with database.unit_of_work() as session:
        sec = _actor(session, "sec")
        # the security administrator grants roles but does not create accounts on their own
        assert not is_allowed(sec, "user.create", Target("user", "x", sec.department_id))


def test_three_roles_cannot_be_held_together(database, operator, world):
    assert separation_conflicts({Role.AUDITOR, Role.SYSTEM_ADMIN}) == [(Role.AUDITOR, Role.SYSTEM_ADMIN)]
    with pytest.raises(InvalidInput) as error, database.unit_of_work() as session:
        service.create_user(session, operator, username="superuser", display_name="X",
                            department_code=world["bureau"], roles=["system_admin", "auditor"], password=PASSWORD)
    assert "三个不同的人" in error.value.localised("zh-CN")


def test_refusals_are_recorded_in_the_audit_chain(database, world):
    with pytest.raises(PermissionDenied), database.unit_of_work() as session:
        service.create_department(session, _actor(session, "clerk1"), code=OTHER_CODE[:-1] + "0", name="X")
    with database.unit_of_work() as session:
        last = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()))
    assert (last.actor, last.action, last.outcome) == ("clerk1", "department.create", "denied")


def test_every_change_appends_one_event_in_the_same_transaction(database, world):
    with database.engine.connect() as connection:
        actions = connection.execute(text("SELECT action FROM audit_events ORDER BY seq")).scalars().all()
    assert actions.count("department.create") == 3 and actions.count("user.create") == 6


def test_weak_passwords_and_bad_usernames_are_refused(database, operator, world):
    for username, password in (("ok_name", "short1A"), ("ok_name", "alllowercaseletters"), ("X!", PASSWORD)):
        with pytest.raises(InvalidInput), database.unit_of_work() as session:
            service.create_user(session, operator, username=username, display_name="x",
                                department_code=DEPT_CODE, roles=[], password=password)


def test_authorize_raises_for_unknown_action():
    with pytest.raises(KeyError):
        authorize(Actor(kind="user", name="x"), "no.such.action", Target("x"))
