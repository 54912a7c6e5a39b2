"""`flask simpul …`: check, publish and inspect forms; set up an installation."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.database import dispose_app, write_transaction
from app.extensions import db
from app.form_building import broken_forms, check_forms_build
from app.forms_engine.changes import ChangeRefused
from app.forms_engine.loader import DefinitionErrors, check_references, load_paths
from app.forms_engine.publish import publish, retire_form
from app.forms_engine.schema_lock import LockTimeout, schema_change
from app.forms_engine.spec import FormSpec
from app.forms_engine.store import form_history, form_table, published_specs, published_versions
from app.workflows.runtime.cli import scheduler_command

simpul_cli = AppGroup("simpul", help="Simpul administration.")
forms_cli = AppGroup("forms", help="Check, publish and inspect form definitions.")
simpul_cli.add_command(forms_cli)
simpul_cli.add_command(scheduler_command)  # app/workflows/runtime/cli.py


def _paths(path: str | None) -> list[Path]:
    return [Path(path or current_app.config["FORMS_DIR"])]


def _fail(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


@forms_cli.command("check")
@click.argument("path", required=False)
@with_appcontext
def forms_check(path: str | None) -> None:
    """Validate definitions without publishing; exit 1 with located errors."""
    found, errors = load_paths(_paths(path))
    with db.engine.connect() as conn:
        # Works on an empty database too (an office's CI checks files, not a server).
        published = published_specs(conn, problems={}) if sa.inspect(conn).has_table(form_table.name) else {}
    errors += check_references({slug: spec for slug, (spec, _) in found.items()}, published)
    if errors:
        _fail([str(e) for e in errors] + [f"{len(errors)} problem(s) found"])
    click.echo(f"{len(found)} form(s) OK: {', '.join(sorted(found)) or '-'}")


def publish_path(path: str | None, user: str, dry_run: bool = False) -> int:
    """Publish the definitions under `path` and give roles their permissions; return exit code."""
    with db.engine.connect() as conn:
        # Read before the files: a publish that gets in while they are checked is not undone.
        based_on = published_versions(conn)
    found, errors = load_paths(_paths(path))
    if errors:
        _fail([str(e) for e in errors] + ["nothing was published"])
    candidates = {slug: spec for slug, (spec, _) in found.items()}
    user_table = current_app.appbuilder.sm.user_model.__table__
    checked: list[tuple[Mapping[str, FormSpec], Flask]] = []  # apps built to check what goes live

    def verify(specs: Mapping[str, FormSpec], changed: Collection[str]) -> None:
        if not checked or checked[-1][0] != specs:  # unchanged since the rehearsal: checked already
            checked.append((specs, check_forms_build(specs, changed)))

    try:
        # Rehearse without the lock (the slow part: building the check app) while requests are
        # served; then publish under it, where requests wait only for checks, dry run and DDL.
        with db.engine.begin() as conn:
            report = publish(conn, candidates, user, user_table, dry_run_only=True, based_on=based_on, verify=verify)
        if not dry_run and report.plans:
            with schema_change(db.engine) as conn:
                report = publish(conn, candidates, user, user_table, based_on=based_on, verify=verify)
            if report.published:
                refresh_permissions(checked[-1][1])  # the app the workers will build: its permissions
    except LockTimeout as exc:
        _fail([str(exc), "nothing was published"])
    except DefinitionErrors as exc:
        _fail([str(e) for e in exc.errors] + ["nothing was published"])
    except ChangeRefused as exc:
        _fail(
            ["refused: these stored values would not survive the change:"]
            + [f"  {p.render()}" for p in exc.problems]
            + ["nothing was published"]
        )
    finally:
        for _, app in checked:
            dispose_app(app)
    for slug, plan in report.plans.items():
        verb = "would publish" if dry_run else f"published v{report.published.get(slug)}"
        click.echo(f"{slug}: {verb}")
        for change in plan.changes:
            click.echo(f"  {change.describe()}")
        for note in report.notes.get(slug, []):
            click.echo(f"  - {note}")
    for slug in report.unchanged:
        click.echo(f"{slug}: unchanged")
    return 0


def refresh_permissions(built: Flask | None = None) -> None:
    """Sync FAB permissions and role grants from an app as the workers build it (`built`, or a new one)."""
    from app import create_app
    from app.access.permissions import sync_permissions

    fresh = built or create_app({"DATABASE_URL": current_app.config["DATABASE_URL"]})
    with fresh.app_context():
        sync_permissions(fresh.appbuilder, fresh.extensions.get("simpul_specs", {}))
    if built is None:
        dispose_app(fresh)


@forms_cli.command("publish")
@click.argument("path", required=False)
@click.option("--dry-run", is_flag=True, help="Check against the stored data and show the changes; change nothing.")
@click.option("--user", default=lambda: os.environ.get("USER", "cli"), help="Recorded as the publisher.")
@with_appcontext
def forms_publish(path: str | None, dry_run: bool, user: str) -> None:
    """Publish definitions (a file or directory; default FORMS_DIR). Refuses what would lose data."""
    publish_path(path, f"cli:{user}", dry_run)


@forms_cli.command("list")
@with_appcontext
def forms_list() -> None:
    """List published forms with their current version."""
    with db.engine.connect() as conn:
        rows = conn.execute(form_table.select().order_by(form_table.c.slug)).all()
        specs = published_specs(conn, include_retired=True, problems={})
    broken = broken_forms(current_app._get_current_object())  # type: ignore[attr-defined]
    for row in rows:
        spec = specs.get(row.slug)
        state = "retired" if row.retired else "broken" if row.slug in broken else "live"
        title = spec.title.id if spec else ""
        click.echo(f"{row.slug:30} v{row.version:<4} {state:8} {row.changed_on:%Y-%m-%d %H:%M}  {title}")
    for slug, why in sorted(broken.items()):
        click.echo(f"{slug}: not served: {why}", err=True)


@forms_cli.command("history")
@click.argument("slug")
@with_appcontext
def forms_history(slug: str) -> None:
    """Show every published version of a form: who, when, what changed."""
    with db.engine.connect() as conn:
        versions = form_history(conn, slug)
    if not versions:
        _fail([f"no published form '{slug}'"])
    for row in versions:
        click.echo(f"v{row.version}  {row.published_on:%Y-%m-%d %H:%M:%S}  {row.published_by}")
        changes = json.loads(row.changes)
        for line in changes.get("changes", []):
            click.echo(f"    {line}")
        for line in changes.get("notes", []):
            click.echo(f"    - {line}")


@forms_cli.command("retire")
@click.argument("slug")
@click.option("--user", default=lambda: os.environ.get("USER", "cli"))
@with_appcontext
def forms_retire(slug: str, user: str) -> None:
    """Hide a form from menus, screens and API; its table and records stay."""
    try:
        with schema_change(db.engine) as conn:
            retire_form(conn, slug, f"cli:{user}")
    except LockTimeout as exc:
        _fail([str(exc)])
    except DefinitionErrors as exc:
        _fail([str(e) for e in exc.errors])
    click.echo(f"{slug}: retired (table and records kept; publish it again to restore)")


@simpul_cli.command("init")
@click.option("--forms/--no-forms", default=True, help="Publish FORMS_DIR.")
@with_appcontext
def init(forms: bool) -> None:
    """Migrate the database, publish the shipped forms and make sure an admin exists."""
    setup(publish_forms=forms)


def setup(publish_forms: bool) -> None:
    """What `init` does, callable from run.py."""
    from app.migrations import upgrade_database

    upgrade_database()
    load_shipped_regions()
    seed_holidays()  # before the forms: records a workflow puts in a state count working days
    if publish_forms:
        publish_path(None, "system")
    refresh_permissions()
    ensure_admin()
    load_demo_data()


def load_demo_data(scale: int = 0, reload: bool = False) -> None:
    """Demo records in forms that are still empty (all demo forms emptied first with `reload`)."""
    from app.demo import clear_demo, load_demo

    with write_transaction(db.engine) as conn:
        specs = published_specs(conn, problems={})  # a form that no longer loads gets no demo data
        if reload:
            clear_demo(conn, specs)
        loaded = load_demo(conn, specs, scale=scale)
    for slug, count in loaded.items():
        if count:
            click.echo(f"demo data: {count} record(s) in {slug}")


@simpul_cli.command("demo")
@click.option(
    "--scale", default=0, show_default=True, help="Extra aid roster lines to generate (benchmark-sized data)."
)
@click.option("--reload", is_flag=True, help="Delete all records of the demo forms first.")
@with_appcontext
def demo(scale: int, reload: bool) -> None:
    """Load the deterministic Tabalong demo data into forms that are still empty."""
    if reload:
        click.confirm("Delete every record of the demo forms and load the demo data again?", abort=True)
    load_demo_data(scale, reload)


def ensure_admin() -> None:
    """Create the admin account if missing; print its credentials when a password was generated."""
    sm = current_app.appbuilder.sm
    username = os.environ.get("SIMPUL_ADMIN_USERNAME", "admin")
    if sm.find_user(username=username):
        click.echo(f"admin account '{username}' exists")
        return
    password = os.environ.get("SIMPUL_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    role = sm.find_role(current_app.config["AUTH_ROLE_ADMIN"])
    user = sm.add_user(
        username, "Admin", "Simpul", os.environ.get("SIMPUL_ADMIN_EMAIL", f"{username}@localhost"), role, password
    )
    if not user:
        _fail([f"could not create the admin account '{username}'"])
    click.echo(f"admin account created: username={username} password={password}")


regions_cli = AppGroup("regions", help="Region master data (kode wilayah Kemendagri).")
simpul_cli.add_command(regions_cli)


@regions_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def regions_import(path: Path) -> None:
    """Load a newer region list (CSV kode,nama): idempotent; codes in use are never deleted."""
    from app.regions.importer import RegionFileError, import_regions, read_region_file

    try:
        regions = read_region_file(path)
    except RegionFileError as exc:
        _fail([f"{path}: {e.render()}" for e in exc.errors] + ["nothing was imported"])
    with write_transaction(db.engine) as conn:
        report = import_regions(conn, regions)
    click.echo(
        f"{len(regions)} codes: {report.added} added, {len(report.renamed)} renamed, {report.unchanged} unchanged, "
        f"{report.removed} removed, {len(report.kept_in_use)} kept (still used by records)"
    )
    for code, old, new in report.renamed[:50]:
        click.echo(f"  renamed {code}: {old} -> {new}")
    for code in report.kept_in_use[:50]:
        click.echo(f"  kept {code}: no longer in the list but used by records (marked inactive)")


def load_shipped_regions() -> None:
    """Load the national region list shipped with Simpul when none is loaded yet."""
    from app.regions.importer import SHIPPED_LIST, import_regions, read_region_file, region_count

    with write_transaction(db.engine) as conn:
        if region_count(conn):
            return
        report = import_regions(conn, read_region_file(SHIPPED_LIST))
    click.echo(f"regions: {report.added} codes loaded")


holidays_cli = AppGroup("holidays", help="The working-day calendar: national holidays, cuti bersama, local days off.")
simpul_cli.add_command(holidays_cli)


@holidays_cli.command("seed")
@click.option(
    "--year", "years", type=int, multiple=True, help="Year to seed (repeatable); default: this year and next."
)
@with_appcontext
def holidays_seed(years: tuple[int, ...]) -> None:
    """Add national holidays and cuti bersama from the `holidays` package; admins' days are kept."""
    seed_holidays(years)


def seed_holidays(years: Collection[int] = ()) -> None:
    """Seed the holiday table (this year and next by default), then move the deadlines it changes."""
    from datetime import UTC, datetime

    from app.workflows.holidays import office_calendar, recompute_due, seed

    now = datetime.now(UTC)
    years = sorted(years or (now.year, now.year + 1))
    with write_transaction(db.engine) as conn:
        done = seed(conn, years, now)
        if done.added:
            config = current_app.config
            recompute_due(conn, office_calendar(conn, config["DISTRICT"], config.get("TIME_ZONE") or None), now)
    click.echo(f"holidays {', '.join(map(str, years))}: {done.added} added, {done.kept} already there")


users_cli = AppGroup("users", help="Local and directory accounts.")
simpul_cli.add_command(users_cli)


@users_cli.command("unlock")
@click.argument("username")
@with_appcontext
def users_unlock(username: str) -> None:
    """Forget an account's failed logins (lifts a lockout before its time)."""
    from app.access.login_guard import clear_failures

    click.echo(f"{username}: {clear_failures(username)} failed login(s) forgotten")
