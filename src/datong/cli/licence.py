"""datong licence types|issue-from|show|revoke|keys|verify: the licence library (电子证照库).

``verify`` works offline: with ``--keys`` and ``--status`` (downloaded from
``/api/v1/licences/keys`` and ``/api/v1/licences/status``) it needs neither the hub nor its database.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from datong.cli.context import Context, progress_bar
from datong.errors import DatongError
from datong.i18n import N_

app = typer.Typer(no_args_is_help=True, help="Electronic licences and seals (电子证照, 电子印章).")
OUTCOMES = {"valid": N_("valid"), "expired": N_("expired"), "revoked": N_("revoked"), "suspended": N_("suspended"),
            "superseded": N_("superseded by a newer version"), "tampered": N_("tampered with"),
            "unknown": N_("not signed by a known seal")}


@app.command("types")
def types(ctx: typer.Context) -> None:
    """The licence types (证照目录) with their issuers and how many licences of each state exist."""
    from datong.licenses import service

    context: Context = ctx.obj
    with context.reading() as session:
        counts = service.licence_counts(session)
        for kind in service.list_licence_types(session):
            states = ", ".join(f"{k} {v}" for k, v in sorted(counts.get(kind.name, {}).items())) or "-"
            typer.echo(f"{kind.code}  {kind.name}  ({kind.ministry}; {len(kind.issuers)} issuer(s))  {states}")


@app.command("import-types")
def import_types(ctx: typer.Context, path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx")]) -> None:
    """Import licence types (证照目录) from Excel: every type lands or none; each problem is listed."""
    from datong.catalog.transfer import CatalogRejected
    from datong.licenses import transfer

    context: Context = ctx.obj
    try:
        with context.database.unit_of_work() as session:
            saved = transfer.import_licence_types(session, context.actor, filename=path.name, content=path.read_bytes())
            names = [t.name for t in saved]
    except CatalogRejected as rejected:
        typer.echo(rejected.localised(context.locale), err=True)
        for problem in rejected.problems:
            typer.echo(f"  {problem.where()}: {problem.localise(context.locale)}", err=True)
        raise typer.Exit(2) from rejected
    typer.echo(context.say(N_("{n} licence types saved: {names}"), n=len(names), names="、".join(names)))


@app.command("export-types")
def export_types(ctx: typer.Context, out: Annotated[Path, typer.Argument(help="The .xlsx to write.")]) -> None:
    """Export the licence types in the layout import-types reads."""
    from datong.licenses import service, transfer

    context: Context = ctx.obj
    with context.reading() as session:
        out.write_bytes(transfer.export_licence_types(service.list_licence_types(session)))
    typer.echo(str(out))


@app.command("issue-from")
def issue_from(ctx: typer.Context, type_code: Annotated[str, typer.Argument(help="Licence type code or name.")],
               as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False) -> None:
    """Issue a licence for every record of the type's source resource that has none (and reissue
    those whose record changed). Safe to repeat."""
    from datong.licenses import flows, service
    from datong.store.snapshots import last_snapshot

    context: Context = ctx.obj
    with context.reading() as session:
        kind = service.licence_type(session, type_code)
        snapshot = last_snapshot(session, kind.source_resource_id) if kind.source_resource_id else None
    if snapshot is None:
        typer.echo(context.say(N_("{type} has no loaded source resource to issue from."), type=kind.name), err=True)
        raise typer.Exit(2)
    bar, progress = progress_bar(context, sys.stderr.isatty() and not as_json, {"sign": N_("Signing licences")})
    try:
        if bar:
            bar.start()
        report = flows.issue_from_snapshot(context.database, context.actor, type_code=kind.code, snapshot=snapshot,
                                           progress=(lambda d, t: progress("sign", d, t)) if progress else None)
    except DatongError as error:
        typer.echo(error.localised(context.locale), err=True)
        raise typer.Exit(2) from error
    finally:
        if bar:
            bar.stop()
    if as_json:
        typer.echo(json.dumps(report.__dict__, ensure_ascii=False))
        return
    typer.echo(context.say(N_("{type}: {issued} issued, {reissued} reissued, {skipped} skipped in {seconds} s"),
                           type=kind.name, issued=report.issued, reissued=report.reissued, skipped=report.skipped,
                           seconds=report.seconds))
    for problem in report.problems:
        typer.echo(f"  {problem}", err=True)


@app.command("show")
def show(ctx: typer.Context, identifier: Annotated[str, typer.Argument(help="The licence identifier.")]) -> None:
    """A licence, its versions and its history (an audited read)."""
    from datong.licenses import service

    context: Context = ctx.obj
    with context.reading() as session:
        licence, history, versions = service.read_licence(session, context.actor, identifier=identifier)
        typer.echo(json.dumps({"identifier": licence.identifier, "status": licence.status,
                               "document": json.loads(licence.document),
                               "versions": [v.identifier for v in versions],
                               "history": [f"{e.at:%Y-%m-%d %H:%M} {e.action} {e.reason or ''}".strip()
                                           for e in history]}, ensure_ascii=False, indent=2))


@app.command("revoke")
def revoke(ctx: typer.Context, identifier: Annotated[str, typer.Argument(help="The licence identifier.")],
           reason: Annotated[str, typer.Option(help="Why (kept, shown to the holder).")]) -> None:
    """Revoke a licence (audited; subscribers are told)."""
    from datong.licenses import service

    context: Context = ctx.obj
    with context.unit_of_work() as session:
        licence = service.change_status(session, context.actor, identifier=identifier, action="revoke", reason=reason)
        typer.echo(f"{licence.identifier}: {licence.status}")


@app.command("keys")
def published_keys(ctx: typer.Context, out: Annotated[Path, typer.Option(help="Write the keys here.")],
                   status: Annotated[Path | None, typer.Option(help="Write the status list here too.")] = None) -> None:
    """Export the published keys (and the status list) for offline verifiers."""
    from datong.licenses import keys, verifying

    context: Context = ctx.obj
    with context.reading() as session:
        out.write_text(json.dumps(keys.published_keys(session), ensure_ascii=False, indent=1), encoding="utf-8")
        if status is not None:
            url = f"{context.settings.resolved_public_url()}/api/v1/licences/status"
            status.write_text(json.dumps(verifying.status_list(session, url)), encoding="utf-8")
    typer.echo(str(out))


@app.command("verify")
def verify(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A licence PDF or JSON file, or QR text ('-' reads stdin).")],
    keys_file: Annotated[Path | None, typer.Option("--keys", help="Published keys (offline).")] = None,
    status_file: Annotated[Path | None, typer.Option("--status", help="Downloaded status list (offline).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Verify a licence: signature, certificate, validity and status. With --keys it runs
    offline; exit 0 only for a valid licence, 1 otherwise, 2 if the input is not a licence."""
    from datong.licenses import documents

    context: Context = ctx.obj
    raw = _read_source(source)
    presented = documents.read_presented(raw)
    if presented is None:
        typer.echo(context.say(N_("This is not a licence: give the PDF, the signed or credential JSON, or the QR "
                                  "text.")), err=True)
        raise typer.Exit(2)
    verdict = _offline(presented, keys_file, status_file, context) if keys_file else _online(presented, context)
    if as_json:
        typer.echo(json.dumps(verdict, ensure_ascii=False))
    else:
        shown = verdict["licence"]
        typer.echo(f"{context.say(OUTCOMES[verdict['outcome']])}: {verdict['identifier']}")
        typer.echo(f"  {shown.get('type')} · {shown.get('holder')} · {shown.get('issuer') or ''} · "
                   f"{shown.get('valid_from')} — {shown.get('valid_until') or '∞'}")
        if verdict["changed"]:
            typer.echo("  " + context.say(N_("changed: {fields}"), fields=", ".join(verdict["changed"])))
        if verdict["status_source"] == "none":
            typer.echo("  " + context.say(N_("status not checked: give --status with a downloaded status list")))
    raise typer.Exit(0 if verdict["outcome"] == "valid" else 1)


def _read_source(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    if path.is_file():
        return path.read_bytes()
    return source.encode()


def _offline(presented, keys_file: Path, status_file: Path | None, context: Context) -> dict:
    from datong.licenses import documents

    keyring = documents.Keyring(json.loads(keys_file.read_text(encoding="utf-8")))
    code, source = None, "none"
    index = _index_of(presented)
    if status_file is not None and index is not None:
        encoded = _signed_status(json.loads(status_file.read_text(encoding="utf-8")), keyring, context)
        code, source = documents.status_at(encoded, index), "list"
    return documents.check(presented, keyring, today=date.today(), status=code, status_source=source).as_dict()


def _signed_status(published: dict, keyring, context: Context) -> str:
    """The status list's bitstring, once its signature by the keys file's authority holds."""
    from datong.licenses import signing

    authority = keyring.keys.get(published.get("kid") or "")
    body = published.get("list") or {}
    try:
        signature = signing.unb64(published.get("signature") or "")
    except ValueError:
        signature = b""
    if authority is None or authority.get("purpose") != "ca" or not signing.verify_pem(
            authority["public_key"], authority["algorithm"], signature, signing.canonical(body)):
        typer.echo(context.say(N_("The status list is not signed by the authority in the keys file.")), err=True)
        raise typer.Exit(2)
    return body["encodedList"]


def _index_of(presented) -> int | None:
    if presented.form == "credential":
        entry = (presented.credential or {}).get("credentialStatus") or {}
        return int(entry["statusListIndex"]) if str(entry.get("statusListIndex", "")).isdigit() else None
    index = ((presented.document or {}).get("status") or {}).get("index")
    return index if isinstance(index, int) else None


def _online(presented, context: Context) -> dict:
    from datong.licenses import verifying

    with context.reading() as session:
        return verifying.verify_presented(session, presented)
