"""Excel/CSV import through the screens: all rows or none, the annotated workbook back, upserts, area."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
import xlsxwriter

from app import create_app
from app.access.audit import AuditEntry
from app.access.personal import AccessLogEntry
from app.database import dispose_app
from app.extensions import db
from tests.conftest import BACKENDS, add_user, app_config, login, publish_yaml, rebuilt
from tests.postgres import scratch_database

PROGRAMME = """
form: program_uji
title: {id: Program Uji, en: Test programme}
title_field: nama
permissions: {Kecamatan: [view]}
fields:
  - {name: nama, type: text, label: {id: Nama program, en: Programme}, required: true, unique: true}
  - {name: kuota, type: integer, label: Kuota, min: 1}
"""
RECIPIENTS = """
form: penerima_uji
title: {id: Penerima Uji, en: Test recipients}
title_field: nama
region_field: desa
unique_together: [[program, nik]]
permissions: {Kecamatan: [view, add, edit]}
fields:
  - {name: program, type: reference, target: program_uji, label: Program, required: true}
  - {name: nik, type: nik, label: NIK, required: true}
  - {name: no_kk, type: kk, label: {id: No. KK, en: Family card no.}}
  - {name: nama, type: text, label: {id: Nama penerima, en: Recipient}, required: true, max_length: 150}
  - {name: desa, type: region, level: desa, label: {id: Desa/kelurahan, en: Village}, required: true}
  - {name: jumlah, type: money, label: {id: Nilai bantuan, en: Amount}, min: 0}
  - {name: tanggal, type: date, label: {id: Tanggal, en: Date}}
  - {name: terdaftar_dtks, type: boolean, label: {id: Terdaftar DTKS/DTSEN, en: In DTKS/DTSEN registry}}
  - {name: id_dtks, type: text, label: {id: ID DTKS/DTSEN, en: Registry id}, max_length: 50}
  - {name: desil, type: integer, label: Desil, min: 1, max: 10}
rules:
  - {rule: capacity, reference: program, limit: kuota}
  - {rule: confirm_same, fields: [no_kk], within: [program]}
"""
GROUPS = """
form: kelompok_uji
title: {id: Kelompok Uji, en: Test groups}
title_field: nama
region_field: desa
permissions: {Kecamatan: [view, add, edit]}
fields:
  - {name: nama, type: text, label: {id: Nama kelompok, en: Group}, required: true, unique: true}
  - {name: desa, type: region, level: desa, label: Desa, required: true}
  - {name: kegiatan, type: multichoice, label: Kegiatan, choices: [tani, ternak]}
  - {name: modal, type: money, label: Modal}
  - {name: berdiri, type: date, label: Berdiri}
  - name: anggota
    type: child
    label: {id: Anggota, en: Members}
    fields:
      - {name: nik, type: nik, label: NIK, required: true}
      - {name: nama, type: text, label: Nama, required: true}
"""
REPORTS = """
form: laporan_uji
title: {id: Laporan Uji, en: Test reports}
title_field: nama
region_field: desa
permissions: {Kecamatan: [view, add, edit]}
fields:
  - {name: nama, type: text, label: Nama, required: true, unique: true}
  - {name: desa, type: region, level: desa, label: Desa, required: true}
workflow:
  states:
    - {name: terdaftar, label: Terdaftar, sla: 3}
    - {name: selesai, label: Selesai, terminal: true}
  transitions:
    - {name: selesaikan, from: terdaftar, to: selesai, label: Selesaikan, roles: [Kecamatan]}
"""
HEADER = ["Program", "NIK", "No. KK", "Nama penerima", "Desa/kelurahan", "Nilai bantuan", "Tanggal"]
DESA = "63.09.01.2001"
OTHER_DESA = "63.09.02.2001"


def nik(n: int) -> str:
    """A valid NIK of Tabalong (born 10-01-1990), serial n."""
    return f"6309011001900{n:03d}"


def kk(n: int) -> str:
    """A valid No. KK issued 15-01-2020, serial n."""
    return f"630901150120{n:04d}"


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One app per backend with the test forms, an admin and a Kecamatan clerk of 63.09.01."""
    tmp = tmp_path_factory.mktemp("imports")
    with _database(request, tmp) as url:
        config = app_config(url, tmp, IMPORT_INLINE_ROWS=50)
        setup = create_app(config)
        with setup.app_context():
            from app.access.permissions import sync_permissions
            from app.migrations import upgrade_database

            upgrade_database()
            sync_permissions(setup.appbuilder, {})
        setup.test_config = config  # type: ignore[attr-defined]
        publish_yaml(setup, PROGRAMME, RECIPIENTS, GROUPS, REPORTS)
        built = rebuilt(setup)
        dispose_app(setup)
        add_user(built, "admin", "Admin")
        add_user(built, "kec", "Kecamatan", region_scope="63.09.01")
        try:
            yield built
        finally:
            dispose_app(built)


def _database(request: pytest.FixtureRequest, tmp: Path) -> Any:
    import contextlib

    if request.param == "sqlite":
        return contextlib.nullcontext(f"sqlite:///{tmp / 'simpul.db'}")
    return scratch_database(request.getfixturevalue("postgres_server"))


_PROGRAMMES = iter(range(1, 10_000))


@pytest.fixture
def programme(app: Any) -> str:
    """A programme of its own for each test (quota 100), so tests share the database, not records."""
    name = f"Program {next(_PROGRAMMES)}"
    with app.app_context():
        table = app.extensions["simpul_models"]["program_uji"].__table__
        db.session.execute(sa.insert(table).values(nama=name, kuota=100))
        db.session.commit()
    return name


def workbook(rows: list[list[Any]], header: list[str] = HEADER, text_columns: tuple[int, ...] = (1, 2)) -> bytes:
    """An xlsx as Excel users write one: NIK and No. KK as text cells, dates as dates."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Data")
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(r, c, value, dates)
            elif c in text_columns and isinstance(value, str):
                sheet.write_string(r, c, value)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def rows_of(programme: str, count: int, start: int = 1, desa: str = DESA) -> list[list[Any]]:
    return [
        [programme, nik(n), kk(n), f"  Penerima {n} ", desa, 250000 + n, date(2026, 3, n % 28 + 1)]
        for n in range(start, start + count)
    ]


def signed_in(app: Any, username: str = "admin") -> Any:
    client = app.test_client()
    login(client, username)
    return client


def upload(client: Any, data: bytes, filename: str = "data.xlsx", slug: str = "penerima_uji") -> Any:
    return client.post(
        f"/import/{slug}/", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


def run(
    client: Any, data: bytes, filename: str = "data.xlsx", slug: str = "penerima_uji", **form: Any
) -> tuple[str, str, str]:
    """Upload and import with the automatic mapping; (state, page text, token)."""
    sent = upload(client, data, filename, slug)
    assert sent.status_code == 302, sent.get_data(as_text=True)[:2000]
    url = sent.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    chosen = dict(re.findall(r'name="(column-\d+)"[^>]*>.*?<option value="([^"]*)" selected', page, re.S))
    key = re.search(r'<option value="([^"]*)" selected>[^<]*–', page)
    answer = client.post(url, data={**chosen, "key": key.group(1) if key else "", **form})
    text = answer.get_data(as_text=True)
    state = re.search(r'id="simpul-import-result" data-state="(\w+)"', text)
    return (state.group(1) if state else f"HTTP {answer.status_code}", text, url.rstrip("/").rsplit("/", 1)[-1])


def stored(app: Any, programme: str) -> list[Any]:
    with app.app_context():
        models = app.extensions["simpul_models"]
        table, programmes = models["penerima_uji"].__table__, models["program_uji"].__table__
        query = (
            sa.select(table)
            .join(programmes, programmes.c.id == table.c.program_id)
            .where(programmes.c.nama == programme)
            .order_by(table.c.nik)
        )
        return list(db.session.execute(query))


def last_log(app: Any) -> Any:
    with app.app_context():
        return db.session.execute(sa.select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(1)).scalar_one()


def test_a_clean_file_imports_all_rows_and_a_second_run_changes_nothing(app: Any, programme: str) -> None:
    client = signed_in(app)
    data = workbook(rows_of(programme, 3))
    preview = client.get(upload(client, data).headers["Location"]).get_data(as_text=True)
    assert nik(1) not in preview and "6309********0001" in preview  # the preview masks NIK like any screen
    state, _text, _token = run(client, data)
    assert state == "done"
    rows = stored(app, programme)
    assert [r.nik for r in rows] == [nik(1), nik(2), nik(3)]
    assert rows[0].nama == "Penerima 1" and rows[0].jumlah == Decimal("250001.00")
    assert rows[0].tanggal == date(2026, 3, 2) and rows[0].region_code == DESA
    entry = last_log(app)
    assert (entry.action, entry.form, entry.row_count) == ("import", "penerima_uji", 3)
    assert entry.purpose == "impor: 3 baris, 3 baru, 0 diubah, 0 sama"
    with app.app_context():
        audited = (
            db.session.execute(
                sa.select(AuditEntry).where(
                    AuditEntry.record_id.in_([r.id for r in rows]), AuditEntry.form == "penerima_uji"
                )
            )
            .scalars()
            .all()
        )
    assert sorted(a.changes["nik"][1] for a in audited if a.action == "create") == [nik(1), nik(2), nik(3)]

    state, _text, _token = run(client, data)
    assert state == "done"
    assert last_log(app).purpose == "impor: 3 baris, 0 baru, 0 diubah, 3 sama"
    assert [r.id for r in stored(app, programme)] == [r.id for r in rows]


def test_a_changed_row_updates_its_record_through_the_audit_trail(app: Any, programme: str) -> None:
    client = signed_in(app)
    first = rows_of(programme, 2)
    assert run(client, workbook(first))[0] == "done"
    first[1][5] = 300000
    assert run(client, workbook(first))[0] == "done"
    assert last_log(app).purpose == "impor: 2 baris, 0 baru, 1 diubah, 1 sama"
    changed = stored(app, programme)[1]
    assert changed.jumlah == Decimal("300000.00")
    with app.app_context():
        entry = db.session.execute(
            sa.select(AuditEntry).where(
                AuditEntry.form == "penerima_uji", AuditEntry.record_id == changed.id, AuditEntry.action == "update"
            )
        ).scalar_one()
    assert entry.changes["jumlah"] == ["250002.00", "300000.00"] and entry.username == "admin"


def test_one_bad_row_imports_nothing_and_the_workbook_comes_back_annotated(app: Any, programme: str) -> None:
    client = signed_in(app)
    rows = rows_of(programme, 4)
    rows[2][1] = "63090110019"  # row 4 of the sheet: a NIK too short
    state, text, token = run(client, workbook(rows))
    assert state == "errors"
    assert "Baris" in text or "Row" in text
    assert stored(app, programme) == []
    answer = client.get(f"/import/penerima_uji/{token}/annotated")
    assert answer.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
    assert sheet.cell(1, 8).value == "Keterangan kesalahan"
    notes = {r: sheet.cell(r, 8).value for r in range(2, 6)}
    assert notes[2] is None and notes[3] is None and notes[5] is None
    assert notes[4].startswith("NIK: ") and "16 digit" in notes[4], notes[4]
    assert sheet.cell(4, 2).value == "63090110019" and sheet.cell(4, 4).value == "  Penerima 3 "
    assert sheet.cell(4, 1).fill.fgColor.rgb.endswith("F8D7DA") and sheet.cell(3, 1).fill.fgColor.rgb in (
        None,
        "00000000",
    )
    assert last_log(app).purpose == "impor ditolak: 4 baris, 1 salah, 0 peringatan"
    other = signed_in(app, "kec")  # nobody else opens it
    assert other.get(f"/import/penerima_uji/{token}/annotated").status_code == 404


@pytest.mark.parametrize("cell", [6309011001900001.0, "6,30901E+15", "6.30901E+15"])
def test_a_nik_excel_rounded_is_reported_never_saved(app: Any, programme: str, cell: Any) -> None:
    rows = rows_of(programme, 2)
    rows[1][1] = cell
    state, text, _token = run(signed_in(app), workbook(rows, text_columns=(2,)))
    assert state == "errors"
    assert "dibulatkan" in text and "Teks" in text, text[text.find("simpul-import-problems") :][:1500]
    assert stored(app, programme) == []


def test_a_kecamatan_clerk_cannot_import_into_another_area(app: Any, programme: str) -> None:
    rows = rows_of(programme, 2) + rows_of(programme, 1, start=3, desa=OTHER_DESA)
    state, text, _token = run(signed_in(app, "kec"), workbook(rows))
    assert state == "errors"
    assert "di luar wilayah kerja" in text
    assert stored(app, programme) == []
    state, _text, _token = run(signed_in(app, "kec"), workbook(rows[:2]))
    assert state == "done" and len(stored(app, programme)) == 2


def test_a_record_of_another_area_is_not_updated_by_its_key(app: Any, programme: str) -> None:
    outside = rows_of(programme, 1, desa=OTHER_DESA)
    assert run(signed_in(app), workbook(outside))[0] == "done"
    moved = [[*outside[0][:4], DESA, *outside[0][5:]]]
    state, text, _token = run(signed_in(app, "kec"), workbook(moved))
    assert state == "errors" and "data lain" in text
    assert stored(app, programme)[0].desa == OTHER_DESA


def test_csv_with_semicolons_in_windows_1252(app: Any, programme: str) -> None:
    lines = [";".join(HEADER)] + [
        f"{programme};{nik(n)};{kk(n)};José Ñoño {n};{DESA};1.250.000;0{n}-03-2026" for n in (1, 2)
    ]
    state, _text, _token = run(signed_in(app), ("\r\n".join(lines) + "\r\n").encode("cp1252"), "data.csv")
    assert state == "done"
    rows = stored(app, programme)
    assert [r.nama for r in rows] == ["José Ñoño 1", "José Ñoño 2"]
    assert rows[0].jumlah == Decimal("1250000.00") and rows[1].tanggal == date(2026, 3, 2)


def test_csv_in_utf8_with_bom_and_commas(app: Any, programme: str) -> None:
    lines = [",".join(HEADER), f'{programme},{nik(1)},{kk(1)},"Siti, Aminah",{DESA},"250.000",']
    state, _text, _token = run(signed_in(app), ("\ufeff" + "\n".join(lines)).encode("utf-8"), "data.csv")
    assert state == "done" and stored(app, programme)[0].nama == "Siti, Aminah"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "bukan buku kerja Excel"),
        (b"PK\x03\x04garbage", "rusak"),
        (b"", "kosong"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    ],
    ids=["png", "broken-zip", "empty", "xls"],
)
def test_a_broken_or_unrelated_file_gives_a_clear_error(app: Any, data: bytes, message: str) -> None:
    client = signed_in(app)
    sent = upload(client, data, "data.xlsx")
    assert sent.status_code == 200
    assert message in sent.get_data(as_text=True)


def test_a_workbook_of_another_kind_is_refused_by_content(app: Any) -> None:
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    sent = upload(signed_in(app), buffer.getvalue(), "data.xlsx")
    assert "bukan buku kerja Excel" in sent.get_data(as_text=True)


def test_the_upload_needs_the_csrf_token(app: Any, programme: str) -> None:
    client = signed_in(app)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        sent = upload(client, workbook(rows_of(programme, 1)))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert sent.status_code == 303
    assert not (Path(app.config["UPLOAD_DIR"]) / "imports").exists() or not any(
        (Path(app.config["UPLOAD_DIR"]) / "imports").glob(f"*/{programme}")
    )


def test_importing_needs_the_forms_add_permission(app: Any) -> None:
    add_user(app, "viewer", "Viewer")
    client = signed_in(app, "viewer")
    assert client.get("/import/penerima_uji/").status_code == 403
    assert app.test_client().get("/import/penerima_uji/").status_code == 302


def test_warnings_need_confirmation(app: Any, programme: str) -> None:
    rows = rows_of(programme, 2)
    rows[1][2] = rows[0][2]  # the same family card twice in one programme
    client = signed_in(app)
    state, text, _token = run(client, workbook(rows))
    assert state == "warnings" and "baris 2" in text
    assert stored(app, programme) == []
    state, _text, _token = run(client, workbook(rows), confirm_warnings="1")
    assert state == "done" and len(stored(app, programme)) == 2


def test_the_programme_quota_counts_the_files_rows(app: Any, programme: str) -> None:
    with app.app_context():
        table = app.extensions["simpul_models"]["program_uji"].__table__
        db.session.execute(sa.update(table).where(table.c.nama == programme).values(kuota=2))
        db.session.commit()
    state, text, _token = run(signed_in(app), workbook(rows_of(programme, 3)))
    assert state == "errors" and "penuh" in text
    assert stored(app, programme) == []


def test_child_rows_import_with_the_parent_named_in_a_column(app: Any) -> None:
    with app.app_context():
        groups = app.extensions["simpul_models"]["kelompok_uji"].__table__
        db.session.execute(sa.insert(groups).values(nama="Kelompok Mawar", desa=DESA, region_code=DESA))
        db.session.commit()
    data = workbook(
        [["Kelompok Mawar", nik(1), "Ani"], ["kelompok mawar", nik(2), "Budi"]],
        header=["Kelompok Uji", "NIK", "Nama"],
        text_columns=(1,),
    )
    state, text, _token = run(signed_in(app, "kec"), data, slug="kelompok_uji__anggota")
    assert state == "done", text[:3000]
    with app.app_context():
        members = app.extensions["simpul_models"]["kelompok_uji__anggota"].__table__
        found = db.session.execute(sa.select(members.c.nama, members.c.region_code).order_by(members.c.nama)).all()
    assert found == [("Ani", DESA), ("Budi", DESA)]


def test_a_large_file_runs_as_a_background_job(app: Any, programme: str) -> None:
    from app.workflows.runtime.jobs import claim_next_job, run_job

    client = signed_in(app, "kec")
    sent = upload(client, workbook(rows_of(programme, 60)))
    url = sent.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    chosen = dict(re.findall(r'name="(column-\d+)"[^>]*>.*?<option value="([^"]*)" selected', page, re.S))
    queued = client.post(url, data={**chosen, "key": "program,nik"})
    assert queued.status_code == 302 and "/import/job/" in queued.headers["Location"]
    assert 'data-state="queued"' in client.get(queued.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        job = claim_next_job(db.engine, "test", _now())
        assert run_job(db.engine, job, "test") == "done"
    assert len(stored(app, programme)) == 60
    page = client.get(queued.headers["Location"]).get_data(as_text=True)
    assert 'data-state="done"' in page and "60" in page
    entry = last_log(app)
    assert (entry.username, entry.row_count) == ("kec", 60)
    with app.app_context():
        audit = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
    assert audit.username == "kec"


def _now() -> Any:
    from app.office import utc_now

    return utc_now()


def test_imported_values_are_stored_as_the_api_stores_them(app: Any) -> None:
    client = signed_in(app)
    made = client.post(
        "/api/v1/kelompok_uji/",
        json={
            "nama": "Lewat API",
            "desa": DESA,
            "kegiatan": ["tani"],
            "modal": "1.500.000,50",
            "berdiri": "2020-05-01",
        },
    )
    assert made.status_code == 201, made.json
    assert client.post("/api/v1/kelompok_uji/", json={"nama": "API kosong", "desa": DESA}).status_code == 201
    data = workbook(
        [["Lewat impor", DESA, "Tani", 1500000.5, date(2020, 5, 1)], ["Impor kosong", DESA, None, None, None]],
        header=["Nama kelompok", "Desa", "Kegiatan", "Modal", "Berdiri"],
        text_columns=(),
    )
    assert run(client, data, slug="kelompok_uji")[0] == "done"
    with app.app_context():
        raw = {
            row[0]: row[1:]
            for row in db.session.execute(
                sa.text(
                    "SELECT nama, CAST(kegiatan AS TEXT), CAST(modal AS TEXT), CAST(berdiri AS TEXT), region_code FROM form_kelompok_uji"
                )
            )
        }
    assert raw["Lewat impor"] == raw["Lewat API"]
    assert raw["Impor kosong"] == raw["API kosong"]
    with app.app_context():  # the audit entries and time stamps too, as the database holds them
        stamps = db.session.execute(
            sa.text(
                "SELECT r.nama, CAST(a.changes AS TEXT), CAST(r.created_on AS TEXT), CAST(a.at AS TEXT)"
                " FROM form_kelompok_uji r JOIN simpul_audit a ON a.record_id = r.id AND a.form = 'kelompok_uji'"
            )
        ).all()
    audit = {row[0]: row[1:] for row in stamps}
    assert audit["Lewat impor"][0] == audit["Lewat API"][0].replace("Lewat API", "Lewat impor")
    assert audit["Impor kosong"][0] == audit["API kosong"][0].replace("API kosong", "Impor kosong")
    shape = {name: tuple(re.sub(r"[0-9]+", "9", text) for text in row[1:]) for name, row in audit.items()}
    assert shape["Lewat impor"] == shape["Lewat API"] and shape["Impor kosong"] == shape["API kosong"]


def test_a_workflow_forms_records_enter_their_first_state(app: Any) -> None:
    from app.workflows.models import stay_table

    data = workbook([["Laporan A", DESA], ["Laporan B", DESA]], header=["Nama", "Desa"], text_columns=())
    state, text, _token = run(signed_in(app, "kec"), data, slug="laporan_uji")
    assert state == "done", text[:3000]
    with app.app_context():
        table = app.extensions["simpul_models"]["laporan_uji"].__table__
        found = db.session.execute(sa.select(table.c.id, table.c.nama, table.c.status).order_by(table.c.nama)).all()
        stays = db.session.execute(
            sa.select(stay_table.c.record_id, stay_table.c.state).where(stay_table.c.form == "laporan_uji")
        ).all()
        audited = (
            db.session.execute(sa.select(AuditEntry.record_id).where(AuditEntry.form == "laporan_uji")).scalars().all()
        )
    assert [(n, s) for _i, n, s in found] == [("Laporan A", "terdaftar"), ("Laporan B", "terdaftar")]
    assert sorted(stays) == sorted((i, "terdaftar") for i, _n, _s in found)
    assert sorted(audited) == sorted(i for i, _n, _s in found)


def registry_extract(rows: list[list[Any]]) -> bytes:
    return workbook(rows, header=["NIK", "NO KK", "NAMA", "ALAMAT", "DESIL", "ID DTKS"], text_columns=(0, 1, 5))


def send_extract(client: Any, data: bytes) -> Any:
    """Upload a registry extract for the test roster form."""
    return client.post(
        "/import/registry/",
        data={"form": "penerima_uji", "file": (io.BytesIO(data), "dtks.xlsx")},
        content_type="multipart/form-data",
    )


def test_a_registry_extract_marks_who_entered_and_who_left(app: Any, programme: str) -> None:
    rows = rows_of(programme, 3, start=101) + rows_of(programme, 1, start=104, desa=OTHER_DESA)
    assert run(signed_in(app), workbook(rows))[0] == "done"
    with app.app_context():  # nik(102) was registered before; nik(104) too, but outside the clerk's area
        table = app.extensions["simpul_models"]["penerima_uji"].__table__
        db.session.execute(sa.update(table).where(table.c.nik.in_([nik(102), nik(104)])).values(terdaftar_dtks=True))
        db.session.commit()
    extract = registry_extract(
        [[nik(101), kk(101), "Penerima 101", "Jl. A", 2, "ID-101"], [nik(103), kk(103), "X", "", 5, None]]
    )
    client = signed_in(app, "kec")
    sent = send_extract(client, extract)
    text = sent.get_data(as_text=True)
    assert 'data-state="done"' in text, text[:3000]
    entered = re.search(r'id="simpul-registry-entered".*?</table>', text, re.S).group(0)
    left = re.search(r'id="simpul-registry-left".*?</table>', text, re.S).group(0)
    assert "Penerima 101" in entered and "Penerima 103" in entered and nik(101) not in entered  # masked
    assert "Penerima 102" in left and "Penerima 104" not in text
    found = {r.nik: (r.terdaftar_dtks, r.desil, r.id_dtks) for r in stored(app, programme)}
    assert found == {
        nik(101): (True, 2, "ID-101"),
        nik(102): (False, None, None),
        nik(103): (True, 5, None),
        nik(104): (True, None, None),  # another area: not the clerk's to change
    }
    entry = last_log(app)
    assert entry.username == "kec" and entry.purpose.startswith("registri DTKS/DTSEN: 2 baris; 2 masuk, 1 keluar")
    with app.app_context():
        audit = db.session.execute(
            sa.select(AuditEntry)
            .where(AuditEntry.form == "penerima_uji", AuditEntry.action == "update")
            .order_by(AuditEntry.id.desc())
            .limit(1)
        ).scalar_one()
    assert audit.username == "kec" and "terdaftar_dtks" in audit.changes


def test_a_bad_registry_extract_changes_nothing(app: Any, programme: str) -> None:
    assert run(signed_in(app), workbook(rows_of(programme, 1, start=120)))[0] == "done"
    extract = registry_extract([[nik(120), kk(120), "A", "", 11, None], [6309011001900121.0, None, "B", "", 1, None]])
    client = signed_in(app)
    sent = send_extract(client, extract)
    text = sent.get_data(as_text=True)
    assert 'data-state="errors"' in text and "dibulatkan" in text
    assert stored(app, programme)[0].desil is None


def test_old_uploads_are_removed(app: Any, programme: str) -> None:
    import os
    import time

    from app.reports.imports.storage import import_dir, prune_uploads

    client = signed_in(app)
    token = upload(client, workbook(rows_of(programme, 1))).headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    with app.test_request_context():
        path = import_dir(token)
        assert path is not None
        os.utime(path, (time.time() - 8 * 86400,) * 2)
        assert prune_uploads() >= 1 and import_dir(token) is None


def test_a_large_registry_extract_runs_as_a_job(app: Any, programme: str) -> None:
    from app.workflows.runtime.jobs import claim_next_job, run_job

    assert run(signed_in(app), workbook(rows_of(programme, 2, start=301)))[0] == "done"
    lines = [[nik(n), kk(n), f"Warga {n}", "", 3, None] for n in range(301, 361)]  # 60: above the 50 inline
    client = signed_in(app, "kec")
    sent = send_extract(client, registry_extract(lines))
    assert sent.status_code == 302 and "/import/job/" in sent.headers["Location"]
    with app.app_context():
        job = claim_next_job(db.engine, "test", _now())
        assert run_job(db.engine, job, "test") == "done"
    found = {r.nik: (r.terdaftar_dtks, r.desil) for r in stored(app, programme)}
    assert found == {nik(301): (True, 3), nik(302): (True, 3)}
    assert last_log(app).purpose.startswith("registri DTKS/DTSEN: 60 baris; 2 masuk")
