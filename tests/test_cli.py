"""`flask simpul forms …`: check, publish (with dry run), list, history, retire."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.forms_engine.schema_lock import schema_change
from tests.conftest import ROOT, rebuilt
from tests.live_load import publishes_waiting, server_env, wait_for

FORM = "form: kegiatan\ntitle: Kegiatan\nfields:\n  - {name: judul, type: text, label: Judul}\n  - {name: tahun, type: text, label: Tahun}\n"


@pytest.fixture
def forms(tmp_path: Path) -> Path:
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "kegiatan.yaml").write_text(FORM, encoding="utf-8")
    return folder


def run(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["simpul", "forms", *args])


def test_check_passes_good_definitions(empty_app: Any, forms: Path) -> None:
    result = run(empty_app, "check", str(forms))
    assert result.exit_code == 0, result.output
    assert "1 form(s) OK: kegiatan" in result.output


def test_check_fails_with_located_errors(empty_app: Any, forms: Path) -> None:
    (forms / "rusak.yaml").write_text(
        "form: rusak\ntitle: R\nfields: [{name: x, type: nik16, label: X}]\n", encoding="utf-8"
    )
    result = run(empty_app, "check", str(forms))
    assert result.exit_code == 1
    assert "rusak.yaml: fields[0].type: unknown type 'nik16'; expected one of" in result.output
    assert "1 problem(s) found" in result.output


def test_publish_list_and_history(empty_app: Any, forms: Path) -> None:
    result = run(empty_app, "publish", str(forms), "--user", "budi")
    assert result.exit_code == 0, result.output
    assert "kegiatan: published v1" in result.output
    assert "kegiatan: unchanged" in run(empty_app, "publish", str(forms)).output
    (forms / "kegiatan.yaml").write_text(
        FORM.replace("name: judul,", "name: nama_kegiatan, id: judul,"), encoding="utf-8"
    )
    assert "rename judul -> nama_kegiatan" in run(empty_app, "publish", str(forms), "--user", "siti").output
    listing = run(empty_app, "list").output
    assert "kegiatan" in listing and "v2" in listing and "live" in listing
    history = run(empty_app, "history", "kegiatan").output
    assert "v1" in history and "cli:budi" in history and "v2" in history and "cli:siti" in history


def test_dry_run_reports_and_changes_nothing(empty_app: Any, forms: Path) -> None:
    run(empty_app, "publish", str(forms))
    with empty_app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO form_kegiatan (judul, tahun) VALUES ('Bimtek', '2020'), ('Rapat', 'dua ribu')")
        )
    (forms / "kegiatan.yaml").write_text(
        FORM.replace("{name: tahun, type: text", "{name: tahun, type: integer"), encoding="utf-8"
    )
    result = run(empty_app, "publish", str(forms), "--dry-run")
    assert result.exit_code == 1
    assert "form_kegiatan.tahun row 2: 'dua ribu': must be a whole number" in result.output
    assert "nothing was published" in result.output
    with empty_app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE form_kegiatan SET tahun = '2021' WHERE id = 2"))
    result = run(empty_app, "publish", str(forms), "--dry-run")
    assert (
        result.exit_code == 0
        and "would publish" in result.output
        and "change tahun from text to integer" in result.output
    )
    assert "v1" in run(empty_app, "list").output


def test_retire_hides_a_form_and_publish_brings_it_back(empty_app: Any, forms: Path) -> None:
    run(empty_app, "publish", str(forms))
    assert run(empty_app, "retire", "kegiatan").exit_code == 0
    assert "retired" in run(empty_app, "list").output
    assert "kegiatan: published v3" in run(empty_app, "publish", str(forms)).output


def test_history_of_unknown_form(empty_app: Any) -> None:
    result = run(empty_app, "history", "tidak_ada")
    assert result.exit_code == 1 and "no published form 'tidak_ada'" in result.output


def test_init_sets_everything_up_and_is_repeatable(empty_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPUL_ADMIN_PASSWORD", "rahasia-123")
    empty_app.config["FORMS_DIR"] = str(Path(__file__).resolve().parent.parent / "forms")
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=["simpul", "init"])
    assert first.exit_code == 0, first.output
    assert "admin account created: username=admin password=rahasia-123" in first.output
    assert "demo data: 8 record(s) in instansi" in first.output
    again = runner.invoke(args=["simpul", "init"])
    assert again.exit_code == 0 and "admin account 'admin' exists" in again.output and "demo data" not in again.output


def test_check_needs_no_database(tmp_path: Path, forms: Path) -> None:
    from app import create_app
    from app.database import dispose_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    try:
        result = app.test_cli_runner().invoke(args=["simpul", "forms", "check", str(forms)])
        assert result.exit_code == 0, result.output
    finally:
        dispose_app(app)


def test_the_shipped_forms_are_valid(empty_app: Any) -> None:
    result = run(empty_app, "check", str(Path(__file__).resolve().parent.parent / "forms"))
    assert result.exit_code == 0, result.output


def test_commands_still_run_when_a_stored_form_cannot_be_built(empty_app: Any, forms: Path) -> None:
    (forms / "lain.yaml").write_text("form: lain\ntitle: Lain\nfields: [{name: x, type: text, label: X}]\n")
    run(empty_app, "publish", str(forms))
    with empty_app.app_context(), db.engine.begin() as conn:  # as an upgrade with a stricter check would
        conn.execute(
            sa.text(
                "UPDATE simpul_form_version SET definition = REPLACE(definition, 'text', 'nik16') WHERE slug = 'kegiatan'"
            )
        )
    app = rebuilt(empty_app)  # what `flask simpul …` builds first
    listing = app.test_cli_runner().invoke(args=["simpul", "forms", "list"])
    assert listing.exit_code == 0, listing.output
    assert [line.split()[:3] for line in listing.stdout.splitlines()] == [
        ["kegiatan", "v1", "broken"],
        ["lain", "v1", "live"],
    ]
    assert "kegiatan: not served: " in listing.stderr and "unknown type 'nik16'" in listing.stderr
    assert app.test_cli_runner().invoke(args=["simpul", "forms", "check", str(forms / "lain.yaml")]).exit_code == 0
    (forms / "lain.yaml").write_text("form: lain\ntitle: Lain\nfields: [{name: y, type: text, label: Y}]\n")
    (forms / "kegiatan.yaml").unlink()
    result = app.test_cli_runner().invoke(args=["simpul", "forms", "publish", str(forms)])  # other forms still publish
    assert result.exit_code == 0 and "lain: published v2" in result.output, result.output


def test_two_publishes_at_once_never_undo_each_other(empty_app: Any, forms: Path, tmp_path: Path) -> None:
    run(empty_app, "publish", str(forms))
    changes = {
        "rename": FORM.replace("name: judul,", "name: nama_kegiatan, id: judul,"),
        "unique": FORM.replace("label: Tahun}", "label: Tahun, unique: true}"),
    }
    env = server_env(empty_app.test_config["DATABASE_URL"], empty_app.test_config["UPLOAD_DIR"])
    started: dict[str, subprocess.Popen[str]] = {}
    try:
        # Hold the lock as a third publish would: both commands read the versions, check their files, then wait.
        with empty_app.app_context(), schema_change(db.engine):
            for name, text in changes.items():
                (tmp_path / name).mkdir()
                (tmp_path / name / "kegiatan.yaml").write_text(text, encoding="utf-8")
                started[name] = subprocess.Popen(
                    [sys.executable, "-m", "flask", "simpul", "forms", "publish", str(tmp_path / name), "--user", name],
                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                )  # fmt: skip
            wait_for(lambda: publishes_waiting(empty_app.test_config["DATABASE_URL"]) == 2, 120, "both wait")
        results = {name: (process.wait(120), *process.communicate()) for name, process in started.items()}
    finally:
        for process in started.values():
            if process.stdout is not None and not process.stdout.closed:  # not yet waited for: a failure
                process.kill()
                process.communicate()
    assert sorted(code for code, _, _ in results.values()) == [0, 1], results
    [winner] = [name for name, (code, _, _) in results.items() if code == 0]
    [loser] = [name for name, (code, _, _) in results.items() if code == 1]
    assert f"published as version 2 by cli:{winner} at " in results[loser][2]
    assert "nothing was published" in results[loser][2]
    with empty_app.app_context(), db.engine.connect() as conn:
        columns = [c["name"] for c in sa.inspect(conn).get_columns("form_kegiatan")]
        indexes = [ix["name"] for ix in sa.inspect(conn).get_indexes("form_kegiatan")]
    assert ("nama_kegiatan" in columns) == (winner == "rename")
    assert any(name.startswith("ux_") for name in indexes) == (winner == "unique")
