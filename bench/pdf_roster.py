"""A printed roster of 10,000 rows through render_roster, next to raw reportlab doing the same layout.

What it measures
----------------
The shipped daftar hadir layout (F4 portrait: No., Nama, Instansi/Desa, Jabatan, alternating
signature boxes; rows at least 10 mm) with a kop surat, title, details, "Halaman X dari Y" and a
signature block, ROWS participants (every seventh name long enough to wrap):

- **render_roster**: app/reports/pdf, the rows handed over as a generator (as a database cursor
  would), one logical table streamed page by page.
- **raw reportlab**: the same page, fonts, margins, kop, title, details and columns written by
  hand with platypus as the reportlab docs suggest, in its fast form: a Paragraph only where
  text wraps (the name), plain strings elsewhere, the signature boxes alternated by per-row
  ALIGN commands, Tables of 500 rows with the header row repeated (so a header also appears
  where a chunk begins mid-page), and the usual "page X of Y" canvas that holds its pages
  until the end. (With Paragraphs in every text cell raw reportlab takes about 10x longer.)
- **linearity**: render_roster at twice the rows, time over the first.

Times are the process's CPU time (time.process_time: the machine this was written on is shared,
and wall time there moves with its neighbours' load; the wall times are printed beside them).
Each run is its own process (fonts registered before the clock starts), so its peak memory
(ru_maxrss: the whole process, with the app package and fonts imported, about 120 MB before
a row is read; the growth over that is printed as +N) is its own; runs alternate
and the median of --repeat is printed.

Run
---
    .venv/bin/python bench/pdf_roster.py                 # 10,000 and 20,000 rows, 3 runs each
    .venv/bin/python bench/pdf_roster.py --rows 5000 --repeat 1
    .venv/bin/python bench/pdf_roster.py --small         # 300 rows: a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import reportlab  # noqa: E402
from reportlab.lib.enums import TA_CENTER  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: E402

from app.reports.pdf import shipped_layout  # noqa: E402
from app.reports.pdf.fonts import CONDENSED, CONDENSED_BOLD, SANS, SANS_BOLD, register_fonts  # noqa: E402
from app.reports.pdf.layout import MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MM  # noqa: E402
from app.reports.pdf.render import Letterhead, Signer, render_roster  # noqa: E402

CHUNK = 500  # rows per raw Table
LETTERHEAD = Letterhead(
    address="Jalan Jenderal Sudirman No. 12, Tanjung 71513",
    phone="(0526) 2021234",
    email="dinsos@tabalongkab.go.id",
    website="dinsos.tabalongkab.go.id",
)
SIGNER = Signer(
    "Siti Aisyah, S.Sos.", "Kepala Bidang Pemberdayaan Sosial", "197703152005012004", "Pembina (IV/a)", "kabid"
)
VALUES = {
    "kegiatan": "Bimbingan Teknis Puskesos",
    "angkatan": "Angkatan I",
    "tanggal": date(2020, 11, 4),
    "tempat": "Aula Dinas Sosial Kabupaten Tabalong",
}
INSTANSI = ("Desa Maburai", "Kelurahan Tanjung", "Puskesos Sejahtera Mabuun", "Dinas Sosial")
JABATAN = ("Ketua Puskesos", "Sekretaris", "Pendamping PKH", "TKSK Kecamatan Murung Pudak")


def rows(count: int) -> Iterator[tuple[str, str, str]]:
    """Participants: every seventh name long enough to wrap in its cell."""
    for i in range(count):
        name = f"Peserta {i:05d} Binti Abdurrahman"
        if i % 7 == 0:
            name = f"Muhammad Rizky Ramadhani Nugroho Saputra Wicaksono {i:05d}"
        yield name, INSTANSI[i % len(INSTANSI)], JABATAN[i % len(JABATAN)]


def run_engine(count: int, out: Path) -> int:
    """render_roster over a generator of rows; its page count."""
    layout = shipped_layout("daftar_hadir_bimtek")
    printed = render_roster(
        out, layout, LETTERHEAD, rows(count), values=VALUES, signers=[SIGNER], signed_on=date(2020, 11, 4)
    )
    assert printed.rows == count, printed
    return printed.pages


class NumberedCanvas(Canvas):
    """The reportlab recipe for "page X of Y": hold every page, number them at save."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved)
        for number, state in enumerate(self._saved, start=1):
            self.__dict__.update(state)
            self.setFont(SANS, 8)
            self.drawRightString(
                self._pagesize[0] - MARGIN_RIGHT * MM, (MARGIN_BOTTOM - 8) * MM, f"Halaman {number} dari {total}"
            )
            Canvas.showPage(self)
        Canvas.save(self)


def run_raw(count: int, out: Path) -> int:
    """The same roster with plain platypus: Paragraph cells, 500-row Tables; its page count."""
    width, height = 215 * MM, 330 * MM
    frame = width - (MARGIN_LEFT + MARGIN_RIGHT) * MM
    base = ParagraphStyle("b", fontName=SANS, fontSize=10, leading=12.5)
    centre = ParagraphStyle("c", base, alignment=TA_CENTER)
    cell = ParagraphStyle("cell", fontName=CONDENSED, fontSize=9, leading=10.8)
    head = ParagraphStyle("head", cell, fontName=CONDENSED_BOLD, alignment=TA_CENTER)
    story: list[Any] = [
        Paragraph(
            "PEMERINTAH KABUPATEN TABALONG", ParagraphStyle("g", centre, fontName=SANS_BOLD, fontSize=13, leading=16)
        ),
        Paragraph("DINAS SOSIAL", ParagraphStyle("o", centre, fontName=SANS_BOLD, fontSize=15, leading=18.5)),
        Paragraph(LETTERHEAD.address, ParagraphStyle("a", centre, fontSize=8.5)),
        Spacer(1, 4 * MM),
        Paragraph(
            "DAFTAR HADIR PESERTA<br/>BIMBINGAN TEKNIS PUSKESOS<br/>ANGKATAN I",
            ParagraphStyle("t", centre, fontName=SANS_BOLD, fontSize=12, leading=15),
        ),
        Table([["Hari/Tanggal", ":", "Rabu, 4 November 2020"], ["Tempat", ":", VALUES["tempat"]]], hAlign="LEFT"),
    ]
    fixed = 10 * MM + 52 * MM
    share = (frame - fixed) / 7.5
    widths = [10 * MM, 3 * share, 2.5 * share, 2 * share, 52 * MM]
    header = [Paragraph(label, head) for label in ("No.", "Nama", "Instansi/Desa", "Jabatan", "Tanda Tangan")]
    style = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, "black"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("FONT", (0, 0), (-1, -1), CONDENSED, 9),
            ("ALIGN", (0, 0), (0, -1), "CENTER"),
            ("TOPPADDING", (0, 1), (-1, -1), 7),
            ("BOTTOMPADDING", (0, 1), (-1, -1), 7),
        ]
    )
    chunk: list[list[Any]] = []
    aligns: list[tuple[Any, ...]] = []

    def table() -> Table:
        # Signature boxes alternate by row: one ALIGN command per even row of the chunk.
        return Table(
            [header, *chunk], colWidths=widths, repeatRows=1, style=TableStyle([*style.getCommands(), *aligns])
        )

    for number, (name, instansi, jabatan) in enumerate(rows(count), start=1):
        # Only the name wraps in this data: a Paragraph there, plain strings elsewhere (the fast way).
        chunk.append([str(number), Paragraph(name, cell), instansi, jabatan, f"{number}. " + "." * 40])
        if number % 2 == 0:
            aligns.append(("ALIGN", (4, len(chunk)), (4, len(chunk)), "RIGHT"))
        if len(chunk) == CHUNK:
            story.append(table())
            chunk, aligns = [], []
    if chunk:
        story.append(table())
    sign = [Paragraph(text, centre) for text in ("Tanjung, 4 November 2020", SIGNER.position)]
    sign += [
        Spacer(1, 20 * MM),
        Paragraph(f"<b><u>{SIGNER.name}</u></b>", centre),
        Paragraph(f"NIP. {SIGNER.nip}", centre),
    ]
    story += [Spacer(1, 6 * MM), Table([["", "", sign]], colWidths=[75 * MM, frame - 150 * MM, 75 * MM])]
    doc = SimpleDocTemplate(
        str(out),
        pagesize=(width, height),
        leftMargin=MARGIN_LEFT * MM,
        rightMargin=MARGIN_RIGHT * MM,
        topMargin=MARGIN_TOP * MM,
        bottomMargin=MARGIN_BOTTOM * MM,
    )
    pages: list[int] = []

    class Counting(NumberedCanvas):
        def save(self) -> None:
            pages.append(len(self._saved))
            super().save()

    doc.build(story, canvasmaker=Counting)
    return pages[0]


def child(kind: str, count: int) -> None:
    """One timed run in this process; prints JSON with seconds, pages and peak memory."""
    register_fonts()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "roster.pdf"
        started, cpu = time.perf_counter(), time.process_time()
        pages = run_engine(count, out) if kind == "engine" else run_raw(count, out)
        wall, seconds = time.perf_counter() - started, time.process_time() - cpu
        size = out.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "wall": wall,
                "pages": pages,
                "peak_mb": peak,
                "growth_mb": peak - before,
                "bytes": size,
            }
        )
    )


def measure(kind: str, count: int) -> dict[str, Any]:
    """Run one child process and read its figures."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--rows", str(count)],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, PYTHONHASHSEED="0"),
    )
    if result.returncode:
        sys.exit(f"{kind} run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median printed)")
    parser.add_argument("--small", action="store_true", help="300 rows, one run of each")
    parser.add_argument("--child", choices=["engine", "raw"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    if args.small:
        args.rows, args.repeat = 300, 1
    try:
        import _rl_accel  # noqa: F401

        accel = "C accelerator (rl_accel)"
    except ImportError:
        accel = "no rl_accel: pure-Python stringWidth, fp_str, ASCII85"
    print(f"python {platform.python_version()}, reportlab {reportlab.Version}, {platform.machine()}; {accel}")
    engine, raw, double = [], [], []
    for attempt in range(args.repeat):
        engine.append(measure("engine", args.rows))
        raw.append(measure("raw", args.rows))
        double.append(measure("engine", 2 * args.rows))
        progress(
            f"run {attempt + 1}: engine {engine[-1]['seconds']:.2f} s, raw {raw[-1]['seconds']:.2f} s, "
            f"engine x2 {double[-1]['seconds']:.2f} s"
        )
    engine_s, raw_s, double_s = median(engine, "seconds"), median(raw, "seconds"), median(double, "seconds")
    print(
        f"daftar hadir, F4 portrait, {args.rows:,} rows: render_roster {engine_s:.2f} s CPU "
        f"({median(engine, 'wall'):.2f} s wall), {engine[0]['pages']} pages, {median(engine, 'peak_mb'):.0f} MB peak "
        f"(+{median(engine, 'growth_mb'):.0f}); raw reportlab ({CHUNK}-row Tables) {raw_s:.2f} s CPU "
        f"({median(raw, 'wall'):.2f} s wall), {raw[0]['pages']} pages, {median(raw, 'peak_mb'):.0f} MB peak "
        f"(+{median(raw, 'growth_mb'):.0f}); render/raw {engine_s / raw_s:.2f}x (goal <= 1.30x)"
    )
    print(
        f"linearity: {2 * args.rows:,} rows {double_s:.2f} s / {args.rows:,} rows {engine_s:.2f} s CPU = "
        f"{double_s / engine_s:.2f}x (goal <= 2.10x); peak {median(double, 'peak_mb'):.0f} MB at {2 * args.rows:,} rows "
        f"(goal <= 200 MB; +{median(double, 'growth_mb'):.0f} over the imported app and fonts), "
        f"{double[0]['pages']} pages, {double[0]['bytes'] / 1e6:.1f} MB file"
    )


if __name__ == "__main__":
    main()
