"""Workbooks of several sheets: the clerk picks the sheet to import (an instructions sheet often comes first);
a registry extract is found by its NIK column behind a cover or summary sheet."""

from __future__ import annotations

import io
import re
from typing import Any

import xlsxwriter

from app.extensions import db
from tests.reports import test_import as imports
from tests.reports.test_import import (
    HEADER,
    _now,
    kk,
    last_log,
    nik,
    rows_of,
    run,
    send_extract,
    signed_in,
    stored,
    upload,
)

app, programme = imports.app, imports.programme  # the import tests' fixtures: their app and a programme per test


def book(*sheets: tuple[str, list[list[Any]]]) -> bytes:
    """An xlsx of named sheets, NIK and No. KK as text cells."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, rows in sheets:
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    sheet.write_string(r, c, value)
                elif value is not None:
                    sheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def data_rows(programme: str, count: int) -> list[list[Any]]:
    return [HEADER] + [[*row[:6], row[6].isoformat()] for row in rows_of(programme, count)]


INSTRUCTIONS = [["Petunjuk pengisian"], ["Isi satu baris per penerima di lembar Data."]]


def mapping_of(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(column-\d+)"[^>]*>.*?<option value="([^"]*)" selected', page, re.S))


def test_the_clerk_picks_the_sheet_and_the_import_reads_that_one(app: Any, programme: str) -> None:
    client = signed_in(app)
    data = book(("Petunjuk", INSTRUCTIONS), ("Kosong", []), ("Data", data_rows(programme, 3)))
    url = upload(client, data).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert 'id="simpul-import-sheet"' in page  # several sheets: the choice is offered
    assert re.findall(r'<option value="([^"]+)"\s*(?:selected)?>', page)[:3] == ["Petunjuk", "Kosong", "Data"]
    assert "Petunjuk pengisian" in page  # by default the first sheet holding rows
    page = client.get(url, query_string={"sheet": "Data"}).get_data(as_text=True)
    assert "Nama penerima" in page and 'name="sheet" value="Data"' in page
    answer = client.post(
        f"{url}?sheet=Data", data={**mapping_of(page), "key": "program,nik", "sheet": "Data"}
    ).get_data(as_text=True)
    assert 'data-state="done"' in answer, answer[:3000]
    assert [r.nik for r in stored(app, programme)] == [nik(1), nik(2), nik(3)]


def test_an_empty_first_sheet_is_passed_over_and_an_unknown_sheet_named(app: Any, programme: str) -> None:
    client = signed_in(app)
    url = upload(client, book(("Sheet1", []), ("Penerima", data_rows(programme, 2)))).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "Nama penerima" in page and 'name="sheet" value="Penerima"' in page
    client.get("/lang/en")
    missing = client.get(url, query_string={"sheet": "Lembar9"}, follow_redirects=True).get_data(as_text=True)
    assert "The workbook has no sheet named Lembar9." in missing
    one = upload(client, book(("Data", data_rows(programme, 1)))).headers["Location"]
    assert 'id="simpul-import-sheet"' not in client.get(one).get_data(as_text=True)  # one sheet: no choice


def test_a_large_import_job_reads_the_chosen_sheet(app: Any, programme: str) -> None:
    from app.workflows.runtime.jobs import claim_next_job, run_job

    client = signed_in(app, "kec")
    data = book(("Petunjuk", INSTRUCTIONS), ("Data", data_rows(programme, 60)))  # above the 50 rows inline
    url = upload(client, data).headers["Location"]
    page = client.get(url, query_string={"sheet": "Data"}).get_data(as_text=True)
    queued = client.post(f"{url}?sheet=Data", data={**mapping_of(page), "key": "program,nik", "sheet": "Data"})
    assert queued.status_code == 302 and "/import/job/" in queued.headers["Location"]
    with app.app_context():
        job = claim_next_job(db.engine, "test", _now())
        assert run_job(db.engine, job, "test") == "done"
    assert len(stored(app, programme)) == 60


EXTRACT_HEADER = ["NIK", "NO KK", "NAMA", "ALAMAT", "DESIL", "ID DTKS"]
SUMMARY = [["Rekapitulasi DTSEN per desa"], ["Desa", "Jumlah KK", "Jumlah jiwa"], ["Hapalah", 120, 410]]


def test_a_registry_extract_is_read_from_the_sheet_with_its_nik_column(app: Any, programme: str) -> None:
    assert run(signed_in(app), imports.workbook(rows_of(programme, 2, start=201)))[0] == "done"
    extract = [EXTRACT_HEADER, [nik(201), kk(201), "Penerima 201", "", 4, None]]
    data = book(("Rekap", SUMMARY), ("Kosong", []), ("Data DTSEN", extract))
    text = send_extract(signed_in(app, "kec"), data).get_data(as_text=True)
    assert 'data-state="done"' in text, text[:3000]
    assert "Dibaca dari lembar kerja “Data DTSEN”." in text  # the clerk is told which sheet was read
    found = {r.nik: (r.terdaftar_dtks, r.desil) for r in stored(app, programme)}
    assert found == {nik(201): (True, 4), nik(202): (False, None)}
    # a workbook with no sheet naming a NIK column: the first sheet's problem is reported, nothing changes
    refused = send_extract(signed_in(app, "kec"), book(("Rekap", SUMMARY), ("Catatan", INSTRUCTIONS)))
    assert 'data-state="done"' not in refused.get_data(as_text=True)
    assert {r.nik: r.terdaftar_dtks for r in stored(app, programme)} == {nik(201): True, nik(202): False}


def test_a_large_registry_extract_job_reads_the_sheet_with_its_nik_column(app: Any, programme: str) -> None:
    from app.workflows.runtime.jobs import claim_next_job, run_job

    assert run(signed_in(app), imports.workbook(rows_of(programme, 2, start=401)))[0] == "done"
    lines = [[nik(n), kk(n), f"Warga {n}", "", 6, None] for n in range(401, 461)]  # 60: above the 50 inline
    sent = send_extract(signed_in(app, "kec"), book(("Rekap", SUMMARY), ("Data", [EXTRACT_HEADER, *lines])))
    assert sent.status_code == 302 and "/import/job/" in sent.headers["Location"]
    with app.app_context():
        job = claim_next_job(db.engine, "test", _now())
        assert run_job(db.engine, job, "test") == "done"
    assert {r.nik: (r.terdaftar_dtks, r.desil) for r in stored(app, programme)} == {
        nik(401): (True, 6),
        nik(402): (True, 6),
    }
    assert last_log(app).purpose.startswith("registri DTKS/DTSEN: 60 baris; 2 masuk")
