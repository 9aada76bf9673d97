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


#: The edges (HTTP, console, CLI, demo) and the flows call services; they are not services themselves.
EDGES = ("datong.api", "datong.web", "datong.cli", "datong.demo", "datong.db.migrations", "datong.bootstrap")

#: Public functions of the domain modules that take a session but no actor, each reviewed: they read
#: no personal data for a caller, or they are the machinery that services and flows run on. A new
#: one fails the test below until it takes an actor (and authorizes) or is made private.
NO_ACTOR = {
    # cuts the statement its (authorising) caller built into a page
    "datong.db.paging.window",
    # the connection a service reads through, wrapped (reads nothing itself)
    "datong.db.snapshot.snapshot_of",
    # keeps what its (authorising) caller loaded for the rest of the transaction (reads nothing itself)
    "datong.db.engine.once_per_transaction",
    # write what their (authorising) caller made or changed, in its transaction (decide nothing themselves)
    "datong.db.writes.add_as_loaded", "datong.db.writes.write_now", "datong.db.writes.append_rows",
    # definitions kept per process by version (service items, bundles, licence types: no personal
    # data); their callers authorise what they do with them
    "datong.db.keep.kept", "datong.db.keep.kept_by_key", "datong.services.service.intake_definitions",
    "datong.licenses.service.kept_licence_types",
    # catalog metadata, public to every signed-in user (no personal data)
    "datong.catalog.service.get_element", "datong.catalog.service.get_resource",
    "datong.catalog.service.list_code_lists", "datong.catalog.service.list_elements",
    "datong.catalog.service.resource_history", "datong.catalog.service.search_resources",
    "datong.catalog.sources.authoritative_department", "datong.catalog.sources.list_claims",
    "datong.quality.service.open_issue_count", "datong.quality.service.declared_rules",
    "datong.security.service.get_department", "datong.security.service.count_users",
    # sign-in itself: who is calling is what it finds out (throttled and audited)
    "datong.security.service.authenticate_user", "datong.security.service.authenticate_client",
    "datong.security.service.count_failed_login", "datong.security.service.actor_from_claims",
    # the audit chain's own primitives and the auditor's verification (called by audited services)
    "datong.security.audit.pending_events", "datong.security.audit.record_read", "datong.security.audit.verify_chain",
    # machinery inside a load or a delivery, run by flows that authorized the load or the grant
    "datong.events.publish", "datong.quality.service.check_timeliness", "datong.quality.service.record_load",
    "datong.staging.plan.plan_for", "datong.store.snapshots.last_snapshot", "datong.store.snapshots.prune_snapshots",
    "datong.sharing.service.masking_of", "datong.sharing.service.shape_payload",
    "datong.sharing.subscriptions.fan_out", "datong.sharing.subscriptions.on_withdrawn",
    "datong.sharing.subscriptions.secret_box",
    "datong.sharing.subscriptions.active_subscriptions", "datong.sharing.subscriptions.queue_change",
    "datong.sharing.subscriptions.callback_policy",
    # whether a delivery worker reported lately: a time, no data
    "datong.sharing.subscriptions.worker_seen",
    # the registries' catalog lookups and counts (no personal data), the machinery of a build that
    # authorized itself (registry.build), and the load consumer that only queues the update
    "datong.registry.service.bureau_department", "datong.registry.service.is_built",
    "datong.registry.service.precedence_lists", "datong.registry.service.record_disagreements",
    "datong.registry.service.registry_resource", "datong.registry.service.registry_resource_ids",
    "datong.registry.service.registry_view",
    "datong.registry.spec.authorities", "datong.registry.spec.elements_of", "datong.registry.spec.sources_of",
    "datong.registry.updates.pending_count", "datong.registry.updates.queue_update",
    # licences: what is public (keys, status list, verifying, which shows only what the paper shows,
    # masked), the catalogue and counts (no personal data), lookups and key material for services
    # that authorize before they use them, and the machinery of an authorized issue or change
    "datong.licenses.keys.authority", "datong.licenses.keys.authority_kid", "datong.licenses.keys.current_key",
    "datong.licenses.keys.default_algorithm", "datong.licenses.keys.get_seal", "datong.licenses.keys.private_key",
    "datong.licenses.keys.published_keys", "datong.licenses.keys.seal_keys",
    "datong.licenses.service.get_licence", "datong.licenses.verifying.keyring", "datong.licenses.service.licence_counts",
    "datong.licenses.service.licence_type", "datong.licenses.service.list_licence_types",
    "datong.licenses.service.notify", "datong.licenses.service.signer_for", "datong.licenses.verifying.status_list",
    "datong.licenses.service.take_numbers", "datong.licenses.verifying.verify_identifier",
    "datong.licenses.verifying.verify_presented", "datong.licenses.keys.current_authority",
    # the one window: items, bundles and guides are public (no personal data); lookups for services
    # that authorize the case before they show it; the public progress, which shows no personal data
    # and needs the receipt's code; the case resource and its deliveries, machinery of an authorized change
    "datong.services.service.department", "datong.services.service.get_bundle", "datong.services.service.get_item",
    "datong.services.service.get_items",
    "datong.services.service.list_bundles", "datong.services.service.list_items",
    "datong.services.service.merged_fields", "datong.services.intake.case_children", "datong.services.intake.find_case",
    "datong.services.intake.track_code", "datong.services.receipt.progress", "datong.services.review.overdue_count",
    "datong.services.ratings.case_numbers",
    # proactive services: the hub itself writes notices from registry and licence data (audited as
    # system:proactive); the portal's public list of departments and a holder's unread count
    "datong.portal.proactive.offer_birth_bundle", "datong.portal.proactive.write",
    "datong.portal.proactive.remind_expiring", "datong.portal.proactive.remind_annual_report",
    "datong.portal.service.departments", "datong.portal.service.unread_notices",
    "datong.services.review.parties", "datong.services.review.tasks_of", "datong.services.review.task_answers",
    "datong.services.webhooks.case_resource_id",
    "datong.services.webhooks.ensure_case_resource", "datong.services.webhooks.queue_deliveries",
    # open data: what is published is public (no dataset holds personal data: publication refuses
    # it); anyone may apply for a key; checking a presented key; the builder's list of stale files
    "datong.opendata.service.get_dataset", "datong.opendata.service.list_datasets", "datong.opendata.service.usage",
    "datong.opendata.service.daily_usage", "datong.opendata.score.providers", "datong.opendata.keys.apply",
    "datong.opendata.keys.check", "datong.opendata.keys.get_application", "datong.opendata.files.stale",
    # the assessment's weights and targets (no personal data), read by services that authorize
    "datong.metrics.assessment.settings",
}
#: Primitives that take the actor by keyword to record or check it.
PRIMITIVES = {"datong.security.audit.append_event", "datong.security.authz.authorize",
              "datong.security.authz.is_allowed", "datong.security.chain.make_event",
              "datong.sharing.service.may_request", "datong.sharing.service.may_decide"}


def _domain_functions():
    for info in pkgutil.walk_packages(datong.__path__, "datong."):
        if info.name.startswith(EDGES) or info.name.endswith((".api", ".flows", "__main__")):
            continue
        module = importlib.import_module(info.name)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{module.__name__}.{name}", fn


def test_every_public_function_that_acts_is_a_declared_service():
    """Across every domain module: a function that takes an actor is declared with @service (so a
    missing authorize() call fails); one that takes a session but no actor is on the reviewed list."""
    undeclared, unreviewed = [], []
    for name, fn in _domain_functions():
        params = list(inspect.signature(fn).parameters)
        if "actor" in params and name not in PRIMITIVES and not hasattr(fn, "__datong_service__"):
            undeclared.append(name)
        if params[:1] == ["session"] and "actor" not in params and name not in NO_ACTOR:
            unreviewed.append(name)
    assert undeclared == [] and unreviewed == []
    assert "datong.security.service.create_user" in SERVICES
    assert "datong.catalog.transfer.import_catalog" in SERVICES and "datong.quality.service.shown_samples" in SERVICES


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
