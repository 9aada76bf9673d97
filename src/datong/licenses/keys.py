"""Seals and their keys, certified by the bureau's own authority.

The authority (one key pair per deployment, created on first need, rotatable like any key)
certifies each seal key: the certificate binds the key to the department, the seal's name, kind,
validity and picture. Certificates are JSON signed over their RFC 8785 form, because the default
algorithm, SM2, has no X.509 writer in ``cryptography`` and Tongsuo's Python binding has none
either (ADR 0010). Private keys are sealed with the deployment secret; a rotated key is retired and
kept, so what it signed stays verifiable.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from datong.db.base import utcnow
from datong.errors import DatongError, InvalidInput, NotFound
from datong.i18n import N_, Term
from datong.licenses import seal_image, signing
from datong.licenses.models import AUTHORITY, SEAL, Seal, SealKey
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize, service
from datong.security.models import Department
from datong.security.roles import Role
from datong.security.sealing import SecretBox

SEAL_TERM = Term(N_("Seal"))
AUTHORITY_YEARS = 20


def _box(session: Session) -> SecretBox:
    secret = session.info.get("deployment_secret")
    if not secret:
        raise RuntimeError("seal keys need the deployment secret (Database.from_settings)")
    return SecretBox(secret, purpose=b"datong seal keys")


def default_algorithm(session: Session) -> str:
    return session.info.get("seal_algorithm") or signing.SM2


def _new_key(session: Session, *, purpose: str, algorithm: str, subject: dict, not_before: datetime,
             not_after: datetime, seal: Seal | None, issuer: SealKey | None) -> SealKey:
    private = signing.generate(algorithm)
    kid = f"{purpose}-{secrets.token_hex(8)}"
    body = {"version": 1, "serial": kid, "purpose": purpose, "subject": subject, "algorithm": algorithm,
            "public_key": signing.public_pem(private, algorithm), "not_before": not_before.isoformat(),
            "not_after": not_after.isoformat(), "issuer": {"kid": issuer.kid if issuer else kid}}
    signer, signer_alg = (private, algorithm) if issuer is None else (private_key(session, issuer), issuer.algorithm)
    certificate = {"certificate": body, "algorithm": signer_alg,
                   "signature": signing.b64(signing.sign(signer, signer_alg, signing.canonical(body)))}
    key = SealKey(kid=kid, purpose=purpose, seal=seal, algorithm=algorithm, public_pem=body["public_key"],
                  private_sealed=_box(session).seal(signing.private_pem(private, algorithm)),
                  certificate=json.dumps(certificate, ensure_ascii=False), not_before=not_before, not_after=not_after)
    session.add(key)
    session.flush()
    return key


def private_key(session: Session, key: SealKey):
    return signing.load_private(key.algorithm, _box(session).open(key.private_sealed))


class NoAuthority(DatongError):
    status = 404
    code = "no_authority"
    message = N_("No seal has been made yet, so nothing is signed: create a department's seal first.")


def current_authority(session: Session) -> SealKey | None:
    """The bureau's certificate authority key in force, if one was made (a read)."""
    return session.scalar(select(SealKey).where(SealKey.purpose == AUTHORITY, SealKey.retired_at.is_(None))
                          .order_by(SealKey.id.desc()).limit(1))


def authority(session: Session) -> SealKey:
    """The bureau's certificate authority key in force, created on first need (a write)."""
    found = current_authority(session)
    if found is not None:
        return found
    now = utcnow()
    return _new_key(session, purpose=AUTHORITY, algorithm=default_algorithm(session),
                    subject={"name": "数通电子印章认证中心 / Datong seal authority"}, not_before=now,
                    not_after=now + timedelta(days=365 * AUTHORITY_YEARS), seal=None, issuer=None)


def _seal_subject(seal: Seal) -> dict:
    return {"department": seal.department.name, "credit_code": seal.department.code, "seal": seal.name,
            "kind": seal.kind, "picture_digest": signing.b64(signing.digest(seal.image_svg.encode(), seal.algorithm))}


def _span(seal: Seal) -> tuple[datetime, datetime]:
    start = max(utcnow(), datetime.combine(seal.valid_from, time.min, UTC))
    return start, datetime.combine(seal.valid_until, time.max, UTC)


@service(mutates=True)
def create_seal(session: Session, actor: Actor, *, department: str, name: str, kind: str = "证照专用章",
                algorithm: str | None = None, valid_from: date | None = None, valid_years: int = 5) -> Seal:
    """A department's seal: its picture drawn from its name, a key pair certified by the authority."""
    dept = session.scalar(select(Department).where(Department.code == department))
    if dept is None:
        raise NotFound(what=Term(N_("Department")), key=department)
    authorize(actor, "seal.manage", Target("seal", name, dept.id))
    algorithm = algorithm or default_algorithm(session)
    if algorithm not in signing.ALGORITHMS:
        raise InvalidInput(field="algorithm", reason=Term(N_("use sm2, ed25519 or p256")))
    if not name.strip() or not 1 <= valid_years <= 30:
        raise InvalidInput(field="name", reason=Term(N_("a seal needs a name and 1 to 30 years of validity")))
    start = valid_from or date.today()
    seal = Seal(department=dept, name=name.strip(), kind=kind.strip() or "证照专用章", algorithm=algorithm,
                image_svg=seal_image.svg(dept.name, kind), valid_from=start,
                valid_until=start.replace(year=start.year + valid_years))
    session.add(seal)
    session.flush()
    not_before, not_after = _span(seal)
    key = _new_key(session, purpose=SEAL, algorithm=algorithm, subject=_seal_subject(seal), seal=seal,
                   issuer=authority(session), not_before=not_before, not_after=not_after)
    append_event(session, actor=actor, action="seal.create", target=f"seal:{seal.id}",
                 detail={"department": dept.code, "name": seal.name, "kid": key.kid, "algorithm": algorithm})
    return seal


@service(mutates=True)
def rotate_seal(session: Session, actor: Actor, *, seal_id: int, algorithm: str | None = None) -> SealKey:
    """A new key for the seal; the old one is retired (it signs nothing more, and still verifies)."""
    seal = get_seal(session, seal_id)
    authorize(actor, "seal.manage", Target("seal", str(seal.id), seal.department_id))
    now, retired = utcnow(), []
    for old in session.scalars(select(SealKey).where(SealKey.seal_id == seal.id, SealKey.retired_at.is_(None))):
        old.retired_at = now
        retired.append(old.kid)
    if algorithm:
        if algorithm not in signing.ALGORITHMS:
            raise InvalidInput(field="algorithm", reason=Term(N_("use sm2, ed25519 or p256")))
        seal.algorithm = algorithm
    start, end = _span(seal)
    key = _new_key(session, purpose=SEAL, algorithm=seal.algorithm, subject=_seal_subject(seal), seal=seal,
                   issuer=authority(session), not_before=start, not_after=end)
    append_event(session, actor=actor, action="seal.rotate", target=f"seal:{seal.id}",
                 detail={"retired": retired, "kid": key.kid, "algorithm": seal.algorithm})
    return key


def get_seal(session: Session, seal_id: int) -> Seal:
    seal = session.get(Seal, seal_id)
    if seal is None:
        raise NotFound(what=SEAL_TERM, key=str(seal_id))
    return seal


@service(mutates=False)
def list_seals(session: Session, actor: Actor) -> list[Seal]:
    """The bureau, auditors and the local operator see every seal; a department its own."""
    authorize(actor, "licence.read", Target("seal", None, actor.department_id))
    stmt = select(Seal).order_by(Seal.department_id, Seal.id)
    if not (actor.kind == "system" or actor.has(Role.BUREAU_ADMIN, Role.AUDITOR)):
        stmt = stmt.where(Seal.department_id == actor.department_id)
    return list(session.scalars(stmt))


def current_key(session: Session, seal: Seal) -> SealKey:
    key = session.scalar(select(SealKey).where(SealKey.seal_id == seal.id, SealKey.retired_at.is_(None))
                         .order_by(SealKey.id.desc()).limit(1))
    if key is None:
        raise NotFound(what=Term(N_("Seal key")), key=seal.name)
    return key


def published_keys(session: Session) -> dict:
    """Every key's public half and certificate (retired ones too): what an offline verifier needs."""
    keys = []
    for key in session.scalars(select(SealKey).order_by(SealKey.id)):
        keys.append({"kid": key.kid, "purpose": key.purpose, "algorithm": key.algorithm,
                     "public_key": key.public_pem, "certificate": json.loads(key.certificate),
                     "department": key.seal.department.code if key.seal else None,
                     "seal": key.seal.name if key.seal else None,
                     "not_before": key.not_before.isoformat(), "not_after": key.not_after.isoformat(),
                     "retired_at": key.retired_at.isoformat() if key.retired_at else None})
    return {"keys": keys, "authority": authority_kid(session)}


def authority_kid(session: Session) -> str | None:
    return session.scalar(select(SealKey.kid).where(SealKey.purpose == AUTHORITY, SealKey.retired_at.is_(None))
                          .order_by(SealKey.id.desc()).limit(1))


def seal_keys(session: Session, seal: Seal) -> list[SealKey]:
    """Every key the seal has had, oldest first (the last is in force unless retired)."""
    return list(session.scalars(select(SealKey).where(SealKey.seal_id == seal.id).order_by(SealKey.id)))
