"""Verifying: the status list, the published keys as a cached keyring, and judging a presented
licence against the hub (public: what the paper shows, the holder masked)."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from datong.db.base import utcnow
from datong.db.snapshot import Prepared, Snapshot, snapshot_of
from datong.licenses import documents, keys, signing
from datong.licenses.models import (
    REVOKED,
    STATUS_CODES,
    SUPERSEDED,
    SUSPENDED,
    VALID,
    Licence,
    SealKey,
)
from datong.licenses.service import get_licence


def status_list(session: Session, url: str) -> dict:
    """The Bitstring Status List of every licence (two bits each), signed by the authority."""
    codes = {index: STATUS_CODES[state] for index, state in session.execute(
        select(Licence.status_index, Licence.status).where(Licence.status != VALID))}
    top = session.scalar(select(func.max(Licence.status_index))) or 0
    encoded, entries = documents.encode_status(codes, top + 1)
    authority = keys.current_authority(session)
    if authority is None:
        raise keys.NoAuthority()
    body = {"id": url, "type": "BitstringStatusList", "statusPurpose": "message", "statusSize": documents.STATUS_BITS,
            "statusMessages": list(documents.STATUS_NAMES), "entries": entries, "encodedList": encoded,
            "validFrom": utcnow().isoformat(timespec="seconds"), "issuer": authority.kid}
    signature = signing.sign(keys.private_key(session, authority), authority.algorithm, signing.canonical(body))
    return {"list": body, "kid": authority.kid, "algorithm": authority.algorithm, "signature": signing.b64(signature)}


_STAMP = Prepared(select(func.count(SealKey.id), func.max(SealKey.id), func.count(SealKey.retired_at)))
_STORED = Prepared(select(Licence.status, Licence.document, Licence.family, Licence.version, Licence.status_reason)
                   .where(Licence.identifier == bindparam("identifier")))
_NEWER = Prepared(select(Licence.identifier).where(Licence.family == bindparam("family"),
                                                   Licence.version > bindparam("version"))
                  .order_by(Licence.version.desc()))  # a family has a few versions


class KeyringCache:
    """The published keys, parsed once and reused until a key is added or retired (one cheap query)."""

    def __init__(self) -> None:
        self.stamp, self.keyring = None, None

    def get(self, snapshot: Snapshot) -> documents.Keyring:
        stamp = tuple(snapshot.rows(_STAMP, {})[0])
        if stamp != self.stamp:
            if snapshot.session is not None:
                published = keys.published_keys(snapshot.session)
            else:
                with snapshot.database.reading() as session:
                    published = keys.published_keys(session)
            self.keyring, self.stamp = documents.Keyring(published), stamp
        return self.keyring


def keyring(session: Session | Snapshot) -> documents.Keyring:
    """The database's published keys, from its cache (a fresh one for a session without caches)."""
    snapshot = snapshot_of(session)
    caches = snapshot.info.get("caches")
    cache = caches.setdefault("licence_keyring", KeyringCache()) if caches is not None else KeyringCache()
    return cache.get(snapshot)


def verify_presented(session: Session | Snapshot, presented: documents.Presented, *,
                     today: date | None = None) -> dict:
    """Judge a presented licence against the hub: its signature, its state now, and which field
    changed when the hub signed something else. Public: shows only what the paper shows, masked.
    Driver-level reads (``datong.db.snapshot``): this is the verify API's hot path."""
    snapshot = snapshot_of(session)
    found = snapshot.rows(_STORED, {"identifier": presented.identifier or ""})
    status, document, family, version, reason = found[0] if found else (None,) * 5
    verdict = documents.check(presented, keyring(snapshot), today=today or date.today(),
                              status=STATUS_CODES[status] if found else None,
                              status_source="hub" if found else "none",
                              stored=json.loads(document) if found else None)
    if not found and verdict.outcome == "valid":
        verdict.outcome = "unknown"
    out = verdict.as_dict()
    if status == SUPERSEDED:
        newer = snapshot.rows(_NEWER, {"family": family, "version": version})
        out["superseded_by"] = newer[0][0] if newer else None
    if status in (REVOKED, SUSPENDED):
        out["reason"] = reason
    return out


def verify_identifier(session: Session, identifier: str, *, today: date | None = None) -> dict:
    """What the public verify page shows for an identifier alone (a QR without its signature)."""
    stored = get_licence(session, identifier)
    presented = documents.Presented("signed", identifier=stored.identifier, document=json.loads(stored.document),
                                    signature=signing.unb64(stored.signature), kid=stored.key.kid)
    out = verify_presented(session, presented, today=today)
    out["form"] = "identifier"
    return out
