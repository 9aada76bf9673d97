"""What a licence is on the wire, and how anyone checks it, with or without the hub.

- The **signed licence**: the licence's data as a JSON document, signed over its RFC 8785 form
  with the seal's key (``{"document", "kid", "algorithm", "signature"}``); the PDF carries it too.
- The **QR code**: the verify page's address carrying the signed document itself, deflated, so
  that a phone checks every field of the paper against the published keys without the hub.
- The **Verifiable Credential** (W3C VC 2.0) for Ed25519 and P-256 seals, with a Data Integrity
  proof (``eddsa-jcs-2022`` / ``ecdsa-jcs-2019``) and a Bitstring Status List entry.
- The **status list**: two bits per licence (valid, revoked, suspended, superseded), gzip and
  base64url, signed by the authority, so offline verifiers learn of revocations.

Nothing here touches the database: the hub and ``datong licence verify`` share it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import base58

from datong.licenses import signing
from datong.untrusted import too_deep

QR_PREFIX = "DTL1."
STATUS_BITS = 2
STATUS_MIN_ENTRIES = 131_072  # the Bitstring Status List's minimum size (16 KB at one bit), for privacy
STATUS_NAMES = ("valid", "revoked", "suspended", "superseded")
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
SUITES = {signing.ED25519: "eddsa-jcs-2022", signing.P256: "ecdsa-jcs-2019"}
PDF_ATTACHMENT = "licence.json"


def mask_key(key: str) -> str:
    return key[:4] + "*" * max(len(key) - 8, 0) + key[-4:] if len(key) > 8 else key


def mask_name(name: str) -> str:
    return name if len(name) > 6 else name[:1] + "*" * max(len(name) - 1, 1)


def qr_text(base_url: str, document: dict, signature: bytes) -> str:
    """What the QR code holds: the public verify page's address with the whole signed document
    attached (deflated), so that a phone verifies every field against the published keys alone."""
    packed = zlib.compress(signing.canonical(document), 9)
    return f"{base_url}/verify/{document['id']}?q={QR_PREFIX}{signing.b64(packed)}.{signing.b64(signature)}"


def parse_qr(text: str) -> tuple[dict, bytes] | None:
    value = text.strip()
    if value.startswith(("http://", "https://")):
        value = (parse_qs(urlsplit(value).query).get("q") or [""])[0]
    if not value.startswith(QR_PREFIX):
        return None
    try:
        packed, sig_b64 = value[len(QR_PREFIX):].split(".")
        document = json.loads(zlib.decompressobj().decompress(signing.unb64(packed), 1 << 16))
        return (document, signing.unb64(sig_b64)) if isinstance(document, dict) and "id" in document else None
    except (ValueError, UnicodeDecodeError, zlib.error):
        return None


# -- status list ---------------------------------------------------------------------------------

def encode_status(codes: dict[int, int], entries: int | None = None) -> tuple[str, int]:
    """``{index: code}`` (codes other than 0 only) as a gzipped, base64url bitstring, the first
    index in the left-most bits; returns (encodedList, entries)."""
    size = max(STATUS_MIN_ENTRIES, entries or 0, (max(codes) + 1) if codes else 0)
    bits = bytearray(size * STATUS_BITS // 8 + 1)
    for index, code in codes.items():
        for b in range(STATUS_BITS):
            if code >> (STATUS_BITS - 1 - b) & 1:
                pos = index * STATUS_BITS + b
                bits[pos // 8] |= 0x80 >> (pos % 8)
    return "u" + signing.b64(gzip.compress(bytes(bits), mtime=0)), size


def status_at(encoded: str, index: int) -> int:
    raw = gzip.decompress(signing.unb64(encoded.removeprefix("u")))
    code = 0
    for b in range(STATUS_BITS):
        pos = index * STATUS_BITS + b
        if pos // 8 >= len(raw):
            return 0
        code = code << 1 | (raw[pos // 8] >> (7 - pos % 8) & 1)
    return code


# -- verifiable credentials ----------------------------------------------------------------------

def credential(document: dict, *, status_url: str, index: int) -> dict:
    return {
        "@context": [VC_CONTEXT], "id": f"urn:oid:{document['id']}",
        "type": ["VerifiableCredential", "ElectronicLicence"], "name": document["type"]["name"],
        "issuer": {"id": f"urn:uscc:{document['issuer']['code']}", "name": document["issuer"]["name"]},
        "validFrom": document["valid_from"] + "T00:00:00Z",
        **({"validUntil": document["valid_until"] + "T23:59:59Z"} if document.get("valid_until") else {}),
        "credentialSubject": {"id": f"urn:{document['holder']['kind']}:{document['holder']['key']}",
                              "name": document["holder"]["name"], "licenceType": document["type"]["code"],
                              "version": document["version"], "data": document["data"]},
        "credentialStatus": {"id": f"{status_url}#{index}", "type": "BitstringStatusListEntry",
                             "statusPurpose": "message", "statusListIndex": str(index), "statusSize": STATUS_BITS,
                             "statusMessage": [{"status": hex(i), "message": n} for i, n in enumerate(STATUS_NAMES)],
                             "statusListCredential": status_url},
    }


def _hash_data(unsecured: dict, config: dict) -> bytes:
    return hashlib.sha256(signing.canonical(config)).digest() + hashlib.sha256(signing.canonical(unsecured)).digest()


def add_proof(vc: dict, key, algorithm: str, method: str, created: str) -> dict:
    """A Data Integrity proof over the JCS forms of the proof options and the credential."""
    unsecured = dict(vc)
    config = {"type": "DataIntegrityProof", "cryptosuite": SUITES[algorithm], "created": created,
              "verificationMethod": method, "proofPurpose": "assertionMethod", "@context": unsecured["@context"]}
    signature = signing.sign(key, algorithm, _hash_data(unsecured, config))
    if algorithm == signing.P256:  # the suite uses IEEE P1363 (r‖s), not DER
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        r, s = decode_dss_signature(signature)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    proof = {k: v for k, v in config.items() if k != "@context"} | {"proofValue": "z" + base58.b58encode(signature).decode()}
    return unsecured | {"proof": proof}


def verify_proof(vc: dict, public_pem: str, algorithm: str) -> bool:
    proof = dict(vc.get("proof") or {})
    value = proof.pop("proofValue", "")
    if not value.startswith("z") or proof.get("cryptosuite") != SUITES.get(algorithm):
        return False
    unsecured = {k: v for k, v in vc.items() if k != "proof"}
    config = proof | {"@context": unsecured.get("@context")}
    try:
        signature = base58.b58decode(value[1:])
    except ValueError:
        return False
    if algorithm == signing.P256:
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        if len(signature) != 64:
            return False
        signature = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    return signing.verify_pem(public_pem, algorithm, signature, _hash_data(unsecured, config))


# -- what was presented --------------------------------------------------------------------------

@dataclass
class Presented:
    """A licence as someone presented it: the form, the identifier, and what can be checked."""

    form: str  # signed, credential, qr, pdf
    identifier: str | None = None
    document: dict | None = None  # the signed document (signed, pdf, qr)
    signature: bytes = b""
    kid: str | None = None
    credential: dict | None = None
    problems: list[str] = field(default_factory=list)


def read_presented(data: bytes | str) -> Presented | None:
    """Recognise a PDF, a signed licence or credential JSON, or QR text; None if it is none of them."""
    raw = data.encode() if isinstance(data, str) else data
    if raw[:5] == b"%PDF-":
        return _from_pdf(raw)
    text = raw.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        value = _json(raw)
        return _from_json(value) if isinstance(value, dict) else None
    parsed = parse_qr(text)
    if parsed is None:
        return None
    document, signature = parsed
    return Presented("qr", identifier=document.get("id"), document=document, signature=signature,
                     kid=(document.get("seal") or {}).get("kid"))


def _json(raw: bytes) -> object:
    """JSON from a stranger, parsed only once its nesting passed the cheap limit (None if not JSON)."""
    if too_deep(raw):
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _from_json(value: dict) -> Presented | None:
    if "proof" in value and "credentialSubject" in value:
        ident = str(value.get("id", "")).removeprefix("urn:oid:")
        method = str((value.get("proof") or {}).get("verificationMethod", ""))
        return Presented("credential", identifier=ident, credential=value, kid=method.rpartition("#")[2] or None)
    if isinstance(value.get("document"), dict) and isinstance(value.get("signature"), str):
        doc = value["document"]
        try:
            signature = signing.unb64(value["signature"])
        except ValueError:
            signature = b""
        return Presented("signed", identifier=doc.get("id"), document=doc, signature=signature,
                         kid=(doc.get("seal") or {}).get("kid") or value.get("kid"))  # the signed kid first
    return None


def _from_pdf(raw: bytes) -> Presented | None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        embedded = (PdfReader(io.BytesIO(raw)).attachments.get(PDF_ATTACHMENT) or [None])[0]
    except (PdfReadError, ValueError, KeyError, TypeError):
        return None
    value = _json(embedded) if embedded else None
    found = _from_json(value) if isinstance(value, dict) else None
    if found is not None:
        found.form = "pdf"
    return found


def expired(document: dict, today: date) -> bool:
    until = document.get("valid_until")
    return bool(until) and date.fromisoformat(until) < today


def changed_fields(presented: dict, stored: dict) -> list[str]:
    """Which parts of a presented document differ from the one the hub signed (data fields by name)."""
    changed = [f"data.{k}" for k in sorted(set(presented.get("data", {})) | set(stored.get("data", {})))
               if presented.get("data", {}).get(k) != stored.get("data", {}).get(k)]
    changed += [k for k in sorted(set(presented) | set(stored)) if k != "data" and presented.get(k) != stored.get(k)]
    return changed


# -- checking -------------------------------------------------------------------------------------

class Keyring:
    """The published keys (``/api/v1/licences/keys``): a seal key counts only with a certificate
    the authority signed."""

    def __init__(self, published: dict) -> None:
        self.keys = {k["kid"]: k for k in published.get("keys", [])}
        self.authority = published.get("authority")
        self._certified: dict[str, bool] = {}  # kid → verdict: each certificate is checked once
        self._loaded: dict[str, object] = {}

    def key(self, kid: str | None) -> dict | None:
        entry = self.keys.get(kid or "")
        if entry is None:
            return None
        if entry["kid"] not in self._certified:
            self._certified[entry["kid"]] = self.certified(entry)
        return entry if self._certified[entry["kid"]] else None

    def verifier(self, entry: dict):
        """The entry's public key, parsed once."""
        loaded = self._loaded.get(entry["kid"])
        if loaded is None:
            loaded = self._loaded[entry["kid"]] = signing.load_public(entry["algorithm"], entry["public_key"])
        return loaded

    def certified(self, entry: dict) -> bool:
        cert = entry.get("certificate") or {}
        body = cert.get("certificate") or {}
        issuer = self.keys.get((body.get("issuer") or {}).get("kid", ""))
        if issuer is None or issuer.get("purpose") != "ca" or body.get("public_key") != entry.get("public_key"):
            return False
        try:
            signature = signing.unb64(cert.get("signature", ""))
        except ValueError:
            return False
        return signing.verify_pem(issuer["public_key"], issuer["algorithm"], signature, signing.canonical(body))


@dataclass
class Verdict:
    """The answer: valid, expired, revoked, suspended, superseded, tampered or unknown."""

    outcome: str
    identifier: str | None
    form: str
    signature_valid: bool
    changed: list[str] = field(default_factory=list)
    status_source: str = "none"  # hub, list, none
    licence: dict = field(default_factory=dict)  # what may be shown about it (holder masked)

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "identifier": self.identifier, "form": self.form,
                "signature_valid": self.signature_valid, "changed": self.changed,
                "status_source": self.status_source, "licence": self.licence}


def _signature_ok(presented: Presented, keyring: Keyring) -> tuple[bool, dict | None]:
    key = keyring.key(presented.kid)
    if key is None:
        return False, None
    if presented.form == "credential":
        return verify_proof(presented.credential, key["public_key"], key["algorithm"]), key
    public, document = keyring.verifier(key), presented.document or {}
    data, exact = signing.presented_bytes(document)
    if signing.verify(public, key["algorithm"], presented.signature, data):
        return True, key
    if exact or signing.canonical(document) == data:
        return False, key
    return signing.verify(public, key["algorithm"], presented.signature, signing.canonical(document)), key


def _shown(presented: Presented) -> dict:
    doc = presented.document or {}
    if presented.form == "credential":
        vc, subject = presented.credential or {}, (presented.credential or {}).get("credentialSubject") or {}
        doc = {"type": {"name": vc.get("name")}, "holder": {"name": subject.get("name", ""), "key": ""},
               "issuer": vc.get("issuer") or {}, "valid_from": str(vc.get("validFrom", ""))[:10],
               "valid_until": str(vc.get("validUntil", ""))[:10] or None, "version": subject.get("version")}
    holder = doc.get("holder") or {}
    return {"type": (doc.get("type") or {}).get("name"), "holder": mask_name(holder.get("name") or ""),
            "holder_key": mask_key(holder.get("key") or ""), "issuer": (doc.get("issuer") or {}).get("name"),
            "valid_from": doc.get("valid_from"), "valid_until": doc.get("valid_until"), "version": doc.get("version")}


def _issuer_and_time(presented: Presented) -> tuple[str | None, str | None]:
    if presented.form == "credential":
        vc = presented.credential or {}
        issuer = str((vc.get("issuer") or {}).get("id", "")).removeprefix("urn:uscc:")
        return issuer or None, (vc.get("proof") or {}).get("created")
    doc = presented.document or {}
    return (doc.get("issuer") or {}).get("code"), doc.get("issued_at")


def _bound(presented: Presented, key: dict) -> bool:
    """The key may sign this: its certificate names the licence's issuer, and the licence was
    issued while the key was in force (a retired key signs nothing dated after its retirement)."""
    subject = ((key.get("certificate") or {}).get("certificate") or {}).get("subject") or {}
    issuer, issued = _issuer_and_time(presented)
    if subject.get("credit_code") != issuer or not issued:
        return False
    try:
        when = datetime.fromisoformat(issued)
        start = datetime.fromisoformat(key["not_before"]) - timedelta(minutes=5)  # clocks of several servers
        end = datetime.fromisoformat(key.get("retired_at") or key["not_after"])
        return start <= when <= end
    except (KeyError, TypeError, ValueError):  # a malformed time, or one without its zone
        return False


def _presented_document(presented: Presented) -> dict | None:
    if presented.form == "credential":
        subject = (presented.credential or {}).get("credentialSubject") or {}
        return {"data": subject.get("data") or {}}
    return presented.document


def check(presented: Presented, keyring: Keyring, *, today: date, status: int | None = None,
          status_source: str = "none", stored: dict | None = None) -> Verdict:
    """Judge a presented licence. ``status`` is its code in the hub or the status list (None when
    unknown); ``stored`` is the document the hub signed, when the hub is asked, so that a changed
    field can be named."""
    ok, key = _signature_ok(presented, keyring)
    verdict = Verdict("valid", presented.identifier, presented.form, ok, status_source=status_source,
                      licence=_shown(presented))
    if key is None or (ok and not _bound(presented, key)):
        verdict.outcome, verdict.signature_valid = "unknown", False
        return verdict
    doc = _presented_document(presented)
    if stored is not None and doc is not None:
        verdict.changed = changed_fields(doc, stored) if presented.form != "credential" else \
            [f"data.{k}" for k in sorted(set(doc["data"]) | set(stored.get("data", {})))
             if doc["data"].get(k) != stored.get("data", {}).get(k)]
    if not ok or verdict.changed:
        verdict.outcome, verdict.signature_valid = "tampered", ok
        return verdict
    if status:
        verdict.outcome = STATUS_NAMES[status]
    elif expired(presented.document or {"valid_until": verdict.licence.get("valid_until")}, today):
        verdict.outcome = "expired"
    return verdict
