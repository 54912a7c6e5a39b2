"""Printed rosters read back: page size, header and page numbers on every page, rows once, signatures last."""

from __future__ import annotations

import functools
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
import pytest
from PIL import Image

from app.reports.pdf import PrintLayout, parse_layout, shipped_layout
from app.reports.pdf.layout import MARGIN_LEFT, MARGIN_RIGHT, MM
from app.reports.pdf.render import Letterhead, Signer, render_roster

LETTERHEAD = Letterhead(
    address="Jalan Jenderal Sudirman No. 12, Tanjung 71513",
    phone="(0526) 2021234",
    email="dinsos@tabalongkab.go.id",
    website="dinsos.tabalongkab.go.id",
)
SIGNERS = [
    Signer(
        "Drs. H. Muhammad Noor, M.Si.", "Kepala Dinas Sosial Kabupaten Tabalong", "196805121990031007", "", "kepala"
    ),
    Signer("Siti Aisyah, S.Sos.", "Kepala Bidang Pemberdayaan Sosial", "197703152005012004", "Pembina (IV/a)", "kabid"),
]
ATTENDANCE = {"kegiatan": "Bimbingan Teknis Puskesos", "angkatan": "Angkatan I", "tanggal": date(2020, 11, 4)}
LONG_NAME = "Raden Mas Zulkarnaen Wiraatmadja Kusumanegara Hadiningrat Ab"  # 60 characters
SIZES = {("F4", "portrait"): (609.45, 935.43), ("A4", "portrait"): (595.28, 841.89)}
PEOPLE = 120


def token(i: int) -> str:
    return f"P{i:04d}X"


def participants(count: int) -> Iterator[tuple[str, str, str]]:
    """Each name carries a token found nowhere else; the fifth is 60 characters long."""
    for i in range(count):
        name = LONG_NAME if i == 5 else f"Siti {token(i)} Rahmawati"
        yield name, "Desa Maburai", "Ketua Puskesos"


def with_paper(layout: PrintLayout, paper: str, orientation: str) -> PrintLayout:
    from dataclasses import replace

    return replace(layout, paper=paper, orientation=orientation)


def render(tmp: Path, layout: PrintLayout, rows: Any, **kwargs: Any) -> Path:
    out = tmp / "roster.pdf"
    kwargs.setdefault("signers", SIGNERS)
    kwargs.setdefault("signed_on", date(2020, 11, 4))
    render_roster(out, layout, LETTERHEAD, rows, **kwargs)
    return out


@functools.cache
def page_texts(path: Path) -> list[str]:
    """Each page's text (read once per file: pdfplumber is slow)."""
    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


@pytest.fixture(scope="module", params=[("F4", "portrait"), ("A4", "portrait"), ("F4", "landscape")], ids="-".join)
def attendance(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PrintLayout]:
    layout = with_paper(shipped_layout("daftar_hadir_bimtek"), *request.param)
    return render(tmp_path_factory.mktemp("pdf"), layout, participants(PEOPLE), values=ATTENDANCE), layout


def test_page_size_is_exactly_the_paper(attendance: tuple[Path, PrintLayout]) -> None:
    path, layout = attendance
    short, long = SIZES.get((layout.paper, "portrait"), (609.45, 935.43))
    expected = (long, short) if layout.orientation == "landscape" else (short, long)
    with pdfplumber.open(path) as pdf:
        assert len(pdf.pages) >= 3
        for page in pdf.pages:
            assert (float(page.width), float(page.height)) == pytest.approx(expected, abs=0.01)


def test_header_and_page_number_on_every_page(attendance: tuple[Path, PrintLayout]) -> None:
    path, _ = attendance
    with pdfplumber.open(path) as pdf:
        total = len(pdf.pages)
        for number, page in enumerate(pdf.pages, start=1):
            words = page.extract_words()
            header = [w for w in words if w["text"] == "Jabatan"]
            assert len(header) == 1, number  # once: no header where a window of rows begins
            rows = [w for w in words if re.fullmatch(r"P\d{4}X", w["text"])]
            assert rows and all(w["top"] > header[0]["top"] for w in rows)
            label = f"Halaman {number} dari {total}"
            line = [w for w in words if w["text"] in ("Halaman", "dari", str(number), str(total))]
            assert label in (page.extract_text() or "")
            right = max(w["x1"] for w in line)
            assert right == pytest.approx(float(page.width) - MARGIN_RIGHT * MM, abs=1.0)
            assert min(w["x0"] for w in line if w["text"] == "Halaman") > float(page.width) / 2


def test_every_name_is_printed_exactly_once(attendance: tuple[Path, PrintLayout]) -> None:
    path, _ = attendance
    found = Counter(re.findall(r"P\d{4}X", "\n".join(page_texts(path))))
    assert found == Counter({token(i): 1 for i in range(PEOPLE) if i != 5})
    assert "\n".join(page_texts(path)).count("Zulkarnaen") == 1


def test_signature_block_on_the_last_page_only(attendance: tuple[Path, PrintLayout]) -> None:
    texts = page_texts(attendance[0])
    signed = [i for i, text in enumerate(texts) if "NIP. 197703152005012004" in text]
    assert signed == [len(texts) - 1]
    last = texts[-1]
    assert "Tanjung, 4 November 2020" in last and "Kepala Bidang Pemberdayaan Sosial" in last
    assert re.search(r"P\d{4}X", last)  # the block is not left alone on a page without rows
    assert "Siti Aisyah, S.Sos." in last


def test_nothing_is_drawn_outside_the_page(attendance: tuple[Path, PrintLayout]) -> None:
    with pdfplumber.open(attendance[0]) as pdf:
        for page in pdf.pages:
            width, height = float(page.width), float(page.height)
            for char in page.chars:
                assert char["x0"] >= 0 and char["x1"] <= width and char["top"] >= 0 and char["bottom"] <= height, char
            for line in page.lines + page.rects:
                assert (
                    line["x0"] >= -1 and line["x1"] <= width + 1 and line["top"] >= -1 and line["bottom"] <= height + 1
                )


def test_a_sixty_character_name_wraps_in_its_cell(attendance: tuple[Path, PrintLayout]) -> None:
    path, layout = attendance
    left = MARGIN_LEFT * MM + layout.column_widths()[0]
    right = left + layout.column_widths()[1]
    with pdfplumber.open(path) as pdf:
        words = [w for page in pdf.pages for w in page.extract_words() if w["text"] in LONG_NAME.split()]
    assert len(LONG_NAME) == 60
    assert {w["text"] for w in words} == set(LONG_NAME.split())
    assert len({round(w["top"]) for w in words}) >= 2  # two lines or more
    assert all(left <= w["x0"] and w["x1"] <= right for w in words)


def test_signature_boxes_alternate_left_and_right(attendance: tuple[Path, PrintLayout]) -> None:
    path, layout = attendance
    widths = layout.column_widths()
    start = MARGIN_LEFT * MM + sum(widths[:-1])
    middle = start + widths[-1] / 2
    with pdfplumber.open(path) as pdf:
        words = {
            w["text"]: w for page in pdf.pages[:1] for w in page.extract_words() if re.fullmatch(r"\d+\.", w["text"])
        }
    assert {"1.", "2.", "3.", "4."} <= set(words)
    for number in (1, 3):
        assert start < words[f"{number}."]["x0"] < middle
    for number in (2, 4):
        assert middle <= words[f"{number}."]["x0"] < start + widths[-1]


def test_title_details_and_kop(attendance: tuple[Path, PrintLayout]) -> None:
    first = page_texts(attendance[0])[0]
    lines = first.splitlines()
    assert lines[:2] == ["PEMERINTAH KABUPATEN TABALONG", "DINAS SOSIAL"]
    for text in (
        "DAFTAR HADIR PESERTA",
        "BIMBINGAN TEKNIS PUSKESOS",
        "ANGKATAN I",
        "Hari/Tanggal : Rabu, 4 November 2020",
    ):
        assert text in lines
    assert "Pos-el: dinsos@tabalongkab.go.id" in first


AID = [
    ("Maburai", [Decimal(600000), Decimal(650000), Decimal("1250000")]),
    ("Mabuun", [Decimal(300000)] * 14),
    ("Pembataan", [Decimal(250000), 500000]),
]


def aid_rows() -> Iterator[tuple[Any, ...]]:
    for desa, amounts in AID:
        for i, amount in enumerate(amounts):
            yield "6309********0001", f"Penerima {desa} {i}", "RT 03 Jalan Pangeran Antasari", amount, desa


@pytest.fixture(scope="module")
def aid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layout = shipped_layout("penyaluran_bantuan")
    values = {"program": "BLT Dana Desa Tahap I", "tanggal": date(2020, 11, 4), "lokasi": "Kantor Desa"}
    return render(tmp_path_factory.mktemp("aid"), layout, aid_rows(), values=values)


def test_subtotals_per_desa_and_grand_total_in_rupiah(aid: Path) -> None:
    text = "\n".join(page_texts(aid))
    assert "Jumlah Maburai Rp 2.500.000" in text
    assert "Jumlah Mabuun Rp 4.200.000" in text
    assert "Jumlah Pembataan Rp 750.000" in text
    assert "JUMLAH SELURUHNYA Rp 7.450.000" in text
    assert "Rp 1.250.000" in text


def test_each_desa_starts_a_page_and_numbers_from_one(aid: Path) -> None:
    texts = page_texts(aid)
    starts = {desa: [i for i, t in enumerate(texts) if f"Desa/Kelurahan: {desa}\n" in t] for desa, _ in AID}
    assert all(len(pages) == 1 for pages in starts.values()), starts
    assert len(set(map(tuple, starts.values()))) == 3
    for desa, _ in AID:
        page = texts[starts[desa][0]]
        assert re.search(rf"^1 6309\*+0001 Penerima {desa} 0", page, re.M), page
    continued = [t for t in texts if "Desa/Kelurahan: Mabuun (lanjutan)" in t]
    assert continued  # 14 rows of Mabuun do not fit one landscape page: the heading again on the next


def test_one_header_per_page_and_rows_beside_the_signature(aid: Path) -> None:
    texts = page_texts(aid)
    assert [t.count("Cap Jempol") for t in texts] == [1] * len(texts)
    assert "NIP. 197703152005012004" in texts[-1] and re.search(r"Penerima \w+ \d+", texts[-1])


def test_mengetahui_block_at_the_left(aid: Path) -> None:
    with pdfplumber.open(aid) as pdf:
        page = pdf.pages[-1]
        words = page.extract_words()
    acknowledged = next(w for w in words if w["text"] == "Mengetahui,")
    place = next(w for w in words if w["text"] == "Tanjung,")
    assert acknowledged["x1"] < float(page.width) / 2 < place["x0"]
    assert abs(acknowledged["top"] - place["top"]) < 2
    assert "NIP. 196805121990031007" in (page.extract_text() or "")


def test_puskesos_per_kecamatan(tmp_path: Path) -> None:
    rows = [
        (f"Desa {k}{i}", f"Puskesos {k}{i}", "Aktif", f"188.45/{i}/2020", date(2020, 3, i + 1), "Dana Desa", 1000000, k)
        for k in ("Kelua", "Tanjung")
        for i in range(3)
    ]
    path = render(tmp_path, shipped_layout("puskesos_kecamatan"), rows, values={"kabupaten": "Kabupaten Tabalong"})
    text = "\n".join(page_texts(path))
    assert "DAFTAR PUSKESOS\nKABUPATEN TABALONG" in text
    assert "Kecamatan: Kelua" in text and "Jumlah Tanjung Rp 3.000.000" in text
    assert "JUMLAH SELURUHNYA Rp 6.000.000" in text and "01-03-2020" in text


NOTE = parse_layout(
    {
        "title": "CATATAN",
        "paper": "A4",
        "orientation": "landscape",
        "columns": [
            {"kind": "no"},
            {"field": "nama", "label": "Nama", "width": 50},
            {"field": "catatan", "label": "Catatan", "width": 30},
            {"kind": "signature", "weight": 1},
        ],
        "signature_block": {"signer": "kepala"},
    }
)


def test_a_cell_taller_than_a_page_is_split_across_pages(tmp_path: Path) -> None:
    note = " ".join(f"kata{i}" for i in range(400)) + " AKHIRCATATAN"  # about 2,800 characters
    rows = [("Sebelum", "pendek"), ("Panjang", note), ("Sesudah", "pendek")]
    path = render(tmp_path, NOTE, rows)
    texts = page_texts(path)
    assert len(texts) >= 3
    joined = "\n".join(texts)
    for word in ("kata0", "kata199", "kata399", "AKHIRCATATAN", "Sebelum", "Sesudah"):
        assert re.search(rf"\b{word}\b", joined), word
    pages_with_note = [i for i, t in enumerate(texts) if re.search(r"\bkata\d+\b", t)]
    assert len(pages_with_note) >= 2


def test_an_endless_cell_is_cut_with_a_mark(tmp_path: Path) -> None:
    rows = [("Panjang", "x" * 40_000), ("Sesudah", "pendek")]
    texts = page_texts(render(tmp_path, NOTE, rows))
    assert "[… terpotong]" in "\n".join(texts)
    assert "Sesudah" in texts[-1]


def test_any_name_prints(tmp_path: Path) -> None:
    names = ["José Ñúñez Müller", "محمد عبد الله", "Đặng Thị Hương", "Ἀλέξανδρος", "王小明"]
    path = render(tmp_path, shipped_layout("daftar_hadir_bimtek"), [(n, "Desa", "Anggota") for n in names])
    text = page_texts(path)[0]
    for name in names[:1] + names[2:4]:
        assert name in text
    with pdfplumber.open(path) as pdf:
        fonts = {c["fontname"].split("+")[-1] for c in pdf.pages[0].chars}
    assert fonts <= {"DejaVuSans", "DejaVuSans-Bold", "DejaVuSansCondensed", "DejaVuSansCondensed-Bold"}


def test_no_rows_prints_an_empty_roster(tmp_path: Path) -> None:
    texts = page_texts(render(tmp_path, shipped_layout("daftar_hadir_bimtek"), []))
    assert len(texts) == 1 and "Tidak ada data" in texts[0] and "NIP. 197703152005012004" in texts[0]


def test_logo_printed_and_a_broken_or_huge_one_ignored(tmp_path: Path) -> None:
    logo = tmp_path / "lambang.png"
    Image.new("RGB", (200, 240), (20, 90, 40)).save(logo)
    scan = tmp_path / "pindaian.png"  # a 4,100 px scan: decoded at every print, so printed without
    Image.new("1", (4100, 4100), 1).save(scan)
    for path, images in ((logo, 1), (tmp_path / "missing.png", 0), (scan, 0)):
        out = tmp_path / "kop.pdf"
        render_roster(out, shipped_layout("daftar_hadir_bimtek"), Letterhead(logo=path), [("A", "B", "C")])
        with pdfplumber.open(out) as pdf:
            assert len(pdf.pages[0].images) == images
            if images:
                image = pdf.pages[0].images[0]
                assert image["x0"] == pytest.approx(MARGIN_LEFT * MM, abs=1) and image["top"] >= 0


def test_progress_and_counts(tmp_path: Path) -> None:
    heard: list[int] = []
    printed = render_roster(
        tmp_path / "p.pdf", shipped_layout("daftar_hadir_bimtek"), LETTERHEAD, participants(1200), progress=heard.append
    )
    assert heard == [500, 1000, 1200]
    assert printed.rows == 1200 and printed.pages == len(pypdf.PdfReader(tmp_path / "p.pdf").pages) > 30


def test_a_row_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"row 2 has 2 values; the layout's fields are nama, instansi, jabatan"):
        render(tmp_path, shipped_layout("daftar_hadir_bimtek"), [("a", "b", "c"), ("a", "b")])


def test_a_page_renders_to_a_picture_that_is_not_blank(attendance: tuple[Path, PrintLayout], tmp_path: Path) -> None:
    path, _ = attendance
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")], check=True)
    (png,) = tmp_path.glob("p*.png")
    picture = Image.open(png).convert("L")
    dark = sum(1 for value in picture.get_flattened_data() if value < 128)
    assert 0.02 < dark / (picture.width * picture.height) < 0.5
    top, bottom = (
        picture.crop((0, 0, picture.width, picture.height // 2)),
        picture.crop((0, picture.height // 2, picture.width, picture.height)),
    )
    assert min(top.getextrema()) == 0 and min(bottom.getextrema()) == 0  # ink in both halves: kop and table
