"""The sharing API: requests and grants for people, and the query API department systems call."""

from __future__ import annotations

import math
import time
from urllib.parse import unquote
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask
from limits import RateLimitItemPerMinute, storage, strategies
from pydantic import BaseModel, ConfigDict, Field

from datong.api.deps import MAX_ID, ActorDep, IdPath, SessionDep
from datong.api.paging import Page, Search, WindowDep, page
from datong.errors import DatongError, NotFound
from datong.i18n import N_, Term
from datong.security.authz import Actor
from datong.sharing import service, subscriptions

router = APIRouter(prefix="/api/v1/share", tags=["sharing"])


class BadHeaderText(DatongError):
    status = 400
    code = "bad_header_text"
    message = N_("The {header} header is not UTF-8 text; send it percent-encoded (RFC 8187), e.g. "
                 "encodeURIComponent(\"资格核查\").")


class TooMany(DatongError):
    status = 429
    code = "rate_limited"
    message = N_("Too many requests from {who}: at most {limit} a minute. Try again in {seconds} s.")


class RateLimiter:
    """At most ``per_minute`` reads a minute per caller, counted in shared storage (the ``limits``
    library: memory for one process, Redis when DATONG_RATE_LIMIT_STORAGE names one, so that
    several server processes count together)."""

    def __init__(self, uri: str, namespace: str = "share") -> None:
        self.limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))
        self.namespace = namespace

    def take(self, who: str, per_minute: int) -> float:
        """0 when allowed; else the seconds until a request would be."""
        item = RateLimitItemPerMinute(per_minute)
        if self.limiter.hit(item, self.namespace, who):
            return 0.0
        reset = self.limiter.get_window_stats(item, self.namespace, who).reset_time
        return max(reset - time.time(), 0.001)


def _limit(state, actor: Actor) -> None:
    """The caller's rate limit (``state``: the app's state)."""
    settings = state.settings
    if getattr(state, "share_limiter", None) is None:
        state.share_limiter = RateLimiter(settings.rate_limit_storage)
    per_minute = settings.share_rate_per_minute
    wait = state.share_limiter.take(actor.name, per_minute)
    if wait:
        error = TooMany(who=actor.name, limit=per_minute, seconds=math.ceil(wait))
        error.headers = {"Retry-After": str(math.ceil(wait))}
        raise error


def header_text(value: str | None, header: str) -> str:
    """The text of a header that may carry Chinese: percent-encoded UTF-8, optionally as an RFC 8187
    ext-value (``UTF-8''%E8%B5%84…``), or raw UTF-8 bytes (which the server hands over as Latin-1,
    so they are taken back to bytes and decoded). Anything that is not UTF-8 is refused, so that
    the audit chain stores exactly what was meant, never mojibake."""
    if not value:
        return ""
    if value[:7].lower() == "utf-8''":
        value = value[7:]
    try:
        text = unquote(value.encode("latin-1").decode("utf-8"), errors="strict")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise BadHeaderText(header=header) from None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise BadHeaderText(header=header)
    return text.strip()


def purpose_from(x_purpose: str | None) -> str:
    return service.required_purpose(header_text(x_purpose, "X-Purpose"))


def case_from(x_case_no: str | None) -> str | None:
    return header_text(x_case_no, "X-Case-No")[:100] or None


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resource: str
    items: list[str] = Field(min_length=1)
    purpose: str = Field(min_length=1, max_length=500)
    legal_basis: str = Field(min_length=1, max_length=500)
    days: int = Field(default=365, ge=1, le=1095)
    client_id: str | None = None


class RequestOut(BaseModel):
    id: int
    resource: str
    consumer: str
    client_id: str | None
    items: list[str]
    purpose: str
    legal_basis: str
    days: int
    status: str
    requested_by: str
    requested_at: datetime
    decide_by: date | None
    decided_by: str | None
    reason: str

    @classmethod
    def of(cls, r) -> RequestOut:
        return cls(id=r.id, resource=r.resource.code, consumer=r.consumer.code,
                   client_id=r.client.client_id if r.client else None, items=r.items, purpose=r.purpose,
                   legal_basis=r.legal_basis, days=r.days, status=r.status, requested_by=r.requested_by,
                   requested_at=r.requested_at, decide_by=r.decide_by, decided_by=r.decided_by, reason=r.reason)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    items: list[str] | None = None
    days: int | None = Field(default=None, ge=1)
    plain_items: list[str] | None = None
    reason: str = ""


class GrantOut(BaseModel):
    id: int
    request: int
    resource: str
    consumer: str
    client_id: str | None
    items: list[str]
    plain_items: list[str]
    purpose: str
    valid_from: datetime
    valid_until: datetime
    approved_by: str
    state: str

    @classmethod
    def of(cls, g) -> GrantOut:
        return cls(id=g.id, request=g.request_id, resource=g.resource.code, consumer=g.consumer.code,
                   client_id=g.client.client_id if g.client else None, items=g.items, plain_items=g.plain_items,
                   purpose=g.purpose, valid_from=g.valid_from, valid_until=g.valid_until, approved_by=g.approved_by,
                   state=service.grant_state(g))


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1)


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: list[str] = Field(min_length=1)
    items: list[str] | None = None


@router.post("/requests", response_model=RequestOut, status_code=201)
def create_request(session: SessionDep, actor: ActorDep, body: RequestIn):
    """Ask for items of a resource: granted at once (无条件共享), waiting for the provider (有条件共享),
    or refused with the reason (不予共享, 403)."""
    return RequestOut.of(service.request_access(session, actor, resource_code=body.resource, items=body.items,
                                                purpose=body.purpose, legal_basis=body.legal_basis, days=body.days,
                                                client_id=body.client_id))


@router.get("/requests", response_model=Page[RequestOut])
def list_requests(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep,
                  status: Annotated[str | None, Query(pattern="^(pending|approved|rejected|refused)$")] = None,
                  q: Search = None):
    """Newest first: the requests your department made or must decide (all, for the bureau and auditors)."""
    return page(request, service.list_requests(session, actor, status=status, q=q, page=at), at, RequestOut.of)


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(session: SessionDep, actor: ActorDep, request_id: IdPath):
    return RequestOut.of(service.get_request(session, actor, request_id=request_id))


@router.post("/requests/{request_id}/decision", response_model=RequestOut)
def decide(session: SessionDep, actor: ActorDep, request_id: IdPath, body: DecisionIn):
    return RequestOut.of(service.decide_request(session, actor, request_id=request_id, approve=body.approve,
                                                items=body.items, days=body.days, plain_items=body.plain_items,
                                                reason=body.reason))


@router.get("/grants", response_model=Page[GrantOut])
def list_grants(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep, q: Search = None):
    return page(request, service.list_grants(session, actor, q=q, page=at), at, GrantOut.of)


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
def revoke(session: SessionDep, actor: ActorDep, grant_id: IdPath, body: RevokeIn):
    return GrantOut.of(service.revoke_grant(session, actor, grant_id=grant_id, reason=body.reason))


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grant_id: int = Field(ge=1, le=MAX_ID)
    callback_url: str = Field(max_length=500)
    keys: list[str] | None = Field(default=None, max_length=100_000)
    events: list[str] | None = None


class DeliveryOut(BaseModel):
    id: int
    subscription: int
    event: str
    record_key: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    dead: bool
    last_error: str | None


def delivery_out(d) -> DeliveryOut:
    return DeliveryOut(id=d.id, subscription=d.subscription_id, event=d.event, record_key=d.record_key,
                       attempts=d.attempts, next_attempt_at=d.next_attempt_at, delivered_at=d.delivered_at,
                       dead=d.dead, last_error=d.last_error)


@router.post("/subscriptions", status_code=201)
def subscribe(session: SessionDep, actor: ActorDep, body: SubscriptionIn):
    """Subscribe to changes under a grant. The answer carries ``secret`` once: deliveries are signed
    with it by the Standard Webhooks scheme (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).
    The callback must be a public address unless the operator allows it (DATONG_CALLBACK_ALLOW)."""
    subscription, secret = subscriptions.subscribe(session, actor, grant_id=body.grant_id,
                                                   callback_url=body.callback_url, keys=body.keys, events=body.events)
    return {"id": subscription.id, "grant_id": subscription.grant_id, "callback_url": subscription.callback_url,
            "events": subscription.events, "keys": len(subscription.keys or []), "secret": secret}


class SubscriptionOut(BaseModel):
    id: int
    grant_id: int
    resource: str
    consumer: str
    callback_url: str
    events: list[str]
    keys: int
    active: bool
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, s) -> SubscriptionOut:
        return cls(id=s.id, grant_id=s.grant_id, resource=s.grant.resource.code, consumer=s.grant.consumer.code,
                   callback_url=s.callback_url, events=s.events, keys=len(s.keys or []), active=s.active,
                   created_by=s.created_by, created_at=s.created_at)


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    callback_url: str | None = Field(default=None, max_length=500)
    keys: list[str] | None = Field(default=None, max_length=100_000)
    events: list[str] | None = None


@router.get("/subscriptions", response_model=Page[SubscriptionOut])
def list_subscriptions(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep):
    """Your department's subscriptions (every department's for the bureau and auditors)."""
    return page(request, subscriptions.list_subscriptions(session, actor, page=at), at, SubscriptionOut.of)


@router.patch("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def update_subscription(session: SessionDep, actor: ActorDep, subscription_id: IdPath, body: SubscriptionChange):
    """Change the callback (checked as at subscribe), the events or the ID filter; the secret stays."""
    return SubscriptionOut.of(subscriptions.update_subscription(
        session, actor, subscription_id=subscription_id, callback_url=body.callback_url, events=body.events,
        keys=body.keys))


@router.delete("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def end_subscription(session: SessionDep, actor: ActorDep, subscription_id: IdPath):
    """End the subscription: nothing more is queued, and what was queued becomes a dead letter. It
    stays listed (inactive), since the audit log names it."""
    return SubscriptionOut.of(subscriptions.end_subscription(session, actor, subscription_id=subscription_id))


@router.get("/deliveries", response_model=Page[DeliveryOut])
def deliveries(request: Request, session: SessionDep, actor: ActorDep, at: WindowDep, dead: bool | None = None):
    """The outbox as the consumer sees it, newest first; ``dead=true`` lists the dead letters."""
    return page(request, subscriptions.list_deliveries(session, actor, dead=dead, page=at), at, delivery_out)


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
def retry(session: SessionDep, actor: ActorDep, delivery_id: IdPath):
    return delivery_out(subscriptions.retry(session, actor, delivery_id=delivery_id))


async def governed(state, actor: Actor, read) -> dict:
    """Run a governed read in one thread hop (the rate limit, a driver-level snapshot, the
    service), then wait on the event loop, holding no thread, until its audit events have
    committed: only then may the answer leave. An answer that failed still waits for what it
    audited. ``state`` is the app's state: the hot path (``datong.sharing.hot``) calls this too."""
    database = state.database
    waits: list = []

    def work():
        _limit(state, actor)
        with database.snapshot(audit_waits=waits) as snapshot:
            return read(snapshot)

    try:
        return await run_in_threadpool(work)
    finally:
        await database.audit.settled(waits)


def subject_reader(actor: Actor, number: str, purpose: str, case: str | None):
    return lambda snapshot: {"subject": number, "resources": service.subject_view(
        snapshot, actor, number=number, purpose=purpose, case_number=case)}


def record_reader(actor: Actor, code: str, key: str, purpose: str, case: str | None):
    def one(snapshot):
        result = service.read_records(snapshot, actor, resource_code=code, keys=[key], purpose=purpose,
                                      case_number=case)
        if not result["records"]:
            raise NotFound(what=Term(N_("Record")), key=key)
        result["record"] = result.pop("records")[0]
        result.pop("missing")
        return result

    return one


@router.get("/subjects/{number}")
async def subject(request: Request, actor: ActorDep, number: str,
                  x_purpose: Annotated[str | None, Header()] = None, x_case_no: Annotated[str | None, Header()] = None):
    """一号: every record that mentions this citizen ID or credit code, in the resources you hold grants for."""
    reader = subject_reader(actor, number, purpose_from(x_purpose), case_from(x_case_no))
    return JSONResponse(await governed(request.app.state, actor, reader))


@router.get("/{code:path}/export")
def export(request: Request, session: SessionDep, actor: ActorDep, code: str,
           format: Annotated[str, Query(pattern="^(csv|parquet)$")] = "csv",
           x_purpose: Annotated[str | None, Header()] = None, x_case_no: Annotated[str | None, Header()] = None):
    """The granted items of the whole resource as a file, masked per the grant (file-shared resources)."""
    purpose = purpose_from(x_purpose)
    _limit(request.app.state, actor)
    path = service.export_records(session, actor, resource_code=code, purpose=purpose, fmt=format,
                                  case_number=case_from(x_case_no),
                                  work=request.app.state.database.data_dir / "work" / "export")
    media = "text/csv; charset=utf-8" if format == "csv" else "application/vnd.apache.parquet"
    # Streamed from the file, which is deleted once sent (or the client went away).
    return FileResponse(path, media_type=media, background=BackgroundTask(path.unlink, missing_ok=True),
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{code.replace('/', '-')}.{format}"})


@router.post("/{code:path}/query")
async def query(request: Request, actor: ActorDep, code: str, body: Annotated[QueryIn, Body()],
                x_purpose: Annotated[str | None, Header()] = None, x_case_no: Annotated[str | None, Header()] = None):
    """The records with these keys (up to the batch limit): granted items only, masked by sensitivity."""
    purpose, case = purpose_from(x_purpose), case_from(x_case_no)
    return JSONResponse(await governed(request.app.state, actor, lambda snapshot: service.read_records(
        snapshot, actor, resource_code=code, keys=body.keys, purpose=purpose, case_number=case, items=body.items)))


@router.get("/{code:path}/records/{key}")
async def record(request: Request, actor: ActorDep, code: str, key: str,
                 x_purpose: Annotated[str | None, Header()] = None, x_case_no: Annotated[str | None, Header()] = None):
    """One record by its key: granted items only, masked by sensitivity."""
    # Most calls are answered before this by datong.sharing.hot, which runs the same reader.
    reader = record_reader(actor, code, key, purpose_from(x_purpose), case_from(x_case_no))
    return JSONResponse(await governed(request.app.state, actor, reader))
