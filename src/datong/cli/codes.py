"""codes id, codes credit-code, codes division."""

from __future__ import annotations

from typing import Annotated

import typer

from datong.cli.context import Context
from datong.codes import lookup_division, validate_credit_code, validate_id_number
from datong.i18n import N_

app = typer.Typer(no_args_is_help=True, help="National code standards.")


def _report(context: Context, values: list[str], check) -> None:
    all_valid = True
    for value in values:
        verdict = check(value)
        all_valid &= verdict.valid
        mark = "OK " if verdict.valid else "BAD"
        extra = ""
        if verdict.valid and verdict.normalised and verdict.normalised != value.strip().upper():
            extra = f" → {verdict.normalised}"
        typer.echo(f"{mark} {value}: {verdict.explain(context.locale)}{extra}")
    raise typer.Exit(0 if all_valid else 1)


@app.command("id")
def id_numbers(ctx: typer.Context, numbers: Annotated[list[str], typer.Argument(help="ID numbers.")]) -> None:
    """Check citizen ID numbers (GB 11643); exit 1 if any is invalid."""
    _report(ctx.obj, numbers, validate_id_number)


@app.command("credit-code")
def credit_codes(ctx: typer.Context, codes: Annotated[list[str], typer.Argument(help="Credit codes.")]) -> None:
    """Check unified social credit codes (GB 32100); exit 1 if any is invalid."""
    _report(ctx.obj, codes, validate_credit_code)


@app.command("licence")
def licence_ids(ctx: typer.Context, identifiers: Annotated[list[str], typer.Argument(help="Licence identifiers.")],
                strict: Annotated[bool, typer.Option(help="Accept only the canonical form.")] = False) -> None:
    """Check electronic licence identifiers (GB/T 36904, MOD 37,36); say what a lenient form forgave."""
    from datong.codes.licence_id import LENIENCIES, parse_licence_id

    context: Context = ctx.obj
    all_valid = True
    for value in identifiers:
        verdict = parse_licence_id(value, strict=strict)
        all_valid &= verdict.valid
        if not verdict.valid:
            typer.echo(f"BAD {value}: {verdict.explain(context.locale)}")
            continue
        forgiven = "; ".join(context.say(LENIENCIES[k]) for k in verdict.facts["lenient"])
        typer.echo(f"OK  {value}" + (f" → {verdict.normalised} ({forgiven})" if forgiven else ""))
    raise typer.Exit(0 if all_valid else 1)


@app.command("division")
def division(ctx: typer.Context, codes: Annotated[list[str], typer.Argument(help="6-digit codes.")]) -> None:
    """Look up GB/T 2260 division codes, current or retired."""
    context: Context = ctx.obj
    found_all = True
    for code in codes:
        found = lookup_division(code.strip())
        if found is None:
            found_all = False
            typer.echo(f"BAD {code}: " + context.say(N_("not a GB/T 2260 code")))
            continue
        state = context.say(N_("retired") if found.retired else N_("in use"))
        typer.echo(f"OK  {code}: {found.full_name} ({state})")
    raise typer.Exit(0 if found_all else 1)
