"""dept, user and client commands."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from datong.cli.context import Context
from datong.i18n import N_
from datong.security import service

dept = typer.Typer(no_args_is_help=True, help="Departments.")
user = typer.Typer(no_args_is_help=True, help="Staff accounts.")
client = typer.Typer(no_args_is_help=True, help="API clients (department systems).")


@dept.command("add")
def dept_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Option(help="Unified social credit code (GB 32100).")],
    name: Annotated[str, typer.Option(help="Full name.")],
    short_name: Annotated[str | None, typer.Option(help="Short name.")] = None,
    parent: Annotated[str | None, typer.Option(help="Credit code of the parent department.")] = None,
) -> None:
    """Register a department."""
    context: Context = ctx.obj
    with context.unit_of_work() as session:
        department = service.create_department(session, context.actor, code=code, name=name,
                                               short_name=short_name, parent_code=parent)
        typer.echo(context.say(N_("Department {name} registered ({code})."), name=department.name,
                               code=department.code))


@dept.command("list")
def dept_list(ctx: typer.Context) -> None:
    """List departments."""
    context: Context = ctx.obj
    with context.unit_of_work() as session:
        for department in service.list_departments(session, context.actor):
            typer.echo(f"{department.code}  {department.name}")


@user.command("add")
def user_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Option(help="Login name.")],
    dept_code: Annotated[str, typer.Option("--dept", help="Credit code of the user's department.")],
    role: Annotated[list[str], typer.Option(help="A role; repeat for several.")],
    display_name: Annotated[str, typer.Option(help="Name shown in the console.")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create a staff account."""
    context: Context = ctx.obj
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(context.say(N_("Password")), hide_input=True, confirmation_prompt=True)
    with context.unit_of_work() as session:
        created = service.create_user(session, context.actor, username=username, display_name=display_name,
                                      department_code=dept_code, roles=role, password=password)
        typer.echo(context.say(N_("Account {name} created with roles {roles}."), name=created.username,
                               roles=", ".join(created.roles) or "-"))


@user.command("list")
def user_list(ctx: typer.Context, dept_code: Annotated[str | None, typer.Option("--dept")] = None) -> None:
    """List staff accounts."""
    context: Context = ctx.obj
    with context.unit_of_work() as session:
        for account in service.list_users(session, context.actor, department_code=dept_code):
            typer.echo(f"{account.username:<16} {account.department.code}  {','.join(account.roles)}")


@user.command("unlock")
def user_unlock(ctx: typer.Context, username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Lift the lock that wrong passwords put on an account."""
    context: Context = ctx.obj
    with context.unit_of_work() as session:
        service.unlock_user(session, context.actor, username=username)
    typer.echo(context.say(N_("{username} is unlocked."), username=username))


@client.command("add")
def client_add(
    ctx: typer.Context,
    dept_code: Annotated[str, typer.Option("--dept", help="Credit code of the owning department.")],
    name: Annotated[str, typer.Option(help="Name of the system.")],
) -> None:
    """Register a department's system; prints its id and secret once."""
    context: Context = ctx.obj
    with context.unit_of_work() as session:
        created, secret = service.create_client(session, context.actor, department_code=dept_code, name=name)
        client_id = created.client_id
    typer.echo(f"client_id={client_id}")
    typer.echo(f"client_secret={secret}")
    typer.echo(context.say(N_("Store the secret now: it is shown only once.")), err=True)
