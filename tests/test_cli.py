"""`flask simpul forms …`: check, publish (with dry run), list, history, retire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db

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
