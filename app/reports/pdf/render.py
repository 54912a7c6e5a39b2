"""Render a roster: kop surat, title, details, the table, "Halaman X dari Y", the signature block.

Pure: no Flask, no database. The caller (a print view or a background job) reads the office
settings into a Letterhead and Signers, and hands over the rows as an iterable of sequences,
values in `layout.fields` order, **already masked** (NIK/KK per the reader's role) and already
readable (choice labels, region names; numbers and dates may stay raw: the layout formats them),
ordered by the layout's group field when it has one. The rows are consumed once, as pages fill,
so 10,000 rows stream without being held at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .fonts import SANS, SANS_BOLD, register_fonts
from .formats import formatted, long_date
from .layout import MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MM, PrintLayout
from .table import Geometry, RosterStream, roster_items

log = logging.getLogger(__name__)
FOOTER_SIZE = 8
LOGO_MM = 24  # the coat of arms' height in the kop surat
LOGO_MAX_PIXELS = 4000 * 4000  # 24 mm at 600 dpi is 567 px: anything larger is a scan never scaled down
SIGN_SPACE_MM = 20  # room to sign between position and name


@dataclass(frozen=True)
class Letterhead:
    """The kop surat, from the office settings (form pengaturan_kantor)."""

    government: str = "PEMERINTAH KABUPATEN TABALONG"  # pemerintah
    office: str = "DINAS SOSIAL"  # nama_kantor
    address: str = ""  # alamat
    phone: str = ""  # telepon
    email: str = ""
    website: str = ""  # situs
    city: str = "Tanjung"  # kota_ttd: the place in "Tanjung, 4 November 2020"
    logo: str | Path | None = None  # a PNG or JPEG file; missing or unreadable: printed without

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], logo: str | Path | None = None) -> Letterhead:
        """From a pengaturan_kantor record's values (field name -> value); `logo` the stored photo's file path."""

        def text(name: str, default: str = "") -> str:
            value = settings.get(name)
            return str(value).strip() if value not in (None, "") else default

        return cls(
            government=text("pemerintah", cls.government),
            office=text("nama_kantor", cls.office),
            address=text("alamat"),
            phone=text("telepon"),
            email=text("email"),
            website=text("situs"),
            city=text("kota_ttd", cls.city),
            logo=logo,
        )


@dataclass(frozen=True)
class Signer:
    """An official who signs: one row of pengaturan_kantor.pejabat."""

    name: str  # nama
    position: str  # jabatan, e.g. "Kepala Dinas Sosial Kabupaten Tabalong"
    nip: str = ""
    rank: str = ""  # pangkat, e.g. "Pembina Tk. I (IV/b)"
    role: str = ""  # peran: kepala, sekretaris, kabid, lainnya

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Signer:
        """From a pejabat child row's values (field name -> value)."""
        return cls(
            name=str(row.get("nama") or ""),
            position=str(row.get("jabatan") or ""),
            nip=str(row.get("nip") or ""),
            rank=str(row.get("pangkat") or ""),
            role=str(row.get("peran") or ""),
        )


@dataclass(frozen=True)
class Printed:
    """What a print produced: pages and data rows (for the access log and the job's report)."""

    pages: int
    rows: int


@dataclass(frozen=True)
class _Words:
    page: str
    acknowledged: str


WORDS = {
    "id": _Words("Halaman %(page)s dari %(pages)s", "Mengetahui,"),
    "en": _Words("Page %(page)s of %(pages)s", "Acknowledged,"),
}


def render_roster(
    out: str | Path | IO[bytes],
    layout: PrintLayout,
    letterhead: Letterhead,
    rows: Iterable[Sequence[Any]],
    *,
    values: Mapping[str, Any] | None = None,
    signers: Sequence[Signer] = (),
    signed_on: date | None = None,
    lang: str = "id",
    progress: Callable[[int], None] | None = None,
) -> Printed:
    """Write the roster of `rows` (values in `layout.fields` order, already masked) as a PDF to `out`.

    `values` fill the title's {key}s and the details' keys; `signers` are the office's officials,
    the layout's signature block picks them by role; `signed_on` is the date by the place
    (today by default: pass the office's local date); `progress` hears the rows done so far.
    """
    register_fonts()
    values = values or {}
    words = WORDS.get(lang, WORDS["id"])
    styles = _styles(layout)
    width, height = layout.page_size
    frame_width = width - (MARGIN_LEFT + MARGIN_RIGHT) * MM
    title = _fill(layout.title.get(lang), values, lang, layout)
    counted = {"rows": 0}

    def heard(done: int) -> None:
        counted["rows"] = done
        if progress is not None:
            progress(done)

    geometry = Geometry(layout, lang)
    story: list[Flowable] = [*_letterhead(letterhead, frame_width, styles), _title(title, styles)]
    details = _details(layout, values, lang, frame_width, styles)
    if details is not None:
        story += [details, Spacer(1, 3 * MM)]
    tail: list[Flowable] = []
    if layout.signature is not None:
        block = _signature_block(
            layout, letterhead, signers, signed_on or date.today(), words, lang, frame_width, styles
        )
        tail = [Spacer(1, 6 * MM), block]  # one table row: never split, moved whole
    tail_height = sum(f.wrap(frame_width, height)[1] for f in tail)
    story.append(RosterStream(geometry, roster_items(geometry, rows, heard), tail=tail_height))
    story += tail
    doc = SimpleDocTemplate(
        out if not isinstance(out, Path) else str(out),
        pagesize=(width, height),
        leftMargin=MARGIN_LEFT * MM,
        rightMargin=MARGIN_RIGHT * MM,
        topMargin=MARGIN_TOP * MM,
        bottomMargin=MARGIN_BOTTOM * MM,
        title=title.replace("\n", " "),
        author=f"{letterhead.office} {letterhead.government}".strip(),
        creator="Simpul",
    )
    footer = _Footer(words.page, title.replace("\n", " "), width, frame_width)
    pages = _PagedCanvas.counting(footer)
    doc.build(story, canvasmaker=pages)
    return Printed(pages=pages.total, rows=counted["rows"])


def _fill(text: str, values: Mapping[str, Any], lang: str, layout: PrintLayout) -> str:
    """The title with its {key}s filled in (a missing value leaves nothing), in capitals."""
    details = {d.key: d.format for d in layout.details if d.key}

    class Values(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return formatted(values.get(key), details.get(key, "text"), lang)

    try:
        return text.format_map(Values()).upper()
    except (ValueError, IndexError, AttributeError):  # the layout was checked; admin text never fails a print
        return text.upper()


def _styles(layout: PrintLayout) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=SANS, fontSize=10, leading=12.5)
    return {
        "government": ParagraphStyle(
            "government", base, fontName=SANS_BOLD, fontSize=13, leading=16, alignment=TA_CENTER
        ),
        "office": ParagraphStyle("office", base, fontName=SANS_BOLD, fontSize=15, leading=18.5, alignment=TA_CENTER),
        "contact": ParagraphStyle("contact", base, fontSize=8.5, leading=10.5, alignment=TA_CENTER),
        "title": ParagraphStyle("title", base, fontName=SANS_BOLD, fontSize=12, leading=15, alignment=TA_CENTER),
        "detail": ParagraphStyle("detail", base, fontSize=10, leading=12.5, alignment=TA_LEFT),
        "sign": ParagraphStyle("sign", base, fontSize=10, leading=13, alignment=TA_CENTER),
    }


def _letterhead(head: Letterhead, width: float, styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    """Logo at the left, the lines centred over the whole width, a thick line over a thin one."""
    lines: list[Flowable] = [Paragraph(escape(head.government.upper()), styles["government"])]
    lines.append(Paragraph(escape(head.office.upper()), styles["office"]))
    contact = [head.address, f"Telepon {head.phone}" if head.phone else ""]
    reach = [f"Pos-el: {head.email}" if head.email else "", f"Laman: {head.website}" if head.website else ""]
    for parts in (contact, reach):
        line = ", ".join(p for p in parts if p) if parts is contact else "   ".join(p for p in parts if p)
        if line:
            lines.append(Paragraph(escape(line), styles["contact"]))
    side = (LOGO_MM + 4) * MM
    logo = _logo(head.logo)
    table = Table([[logo or "", lines, ""]], colWidths=[side, width - 2 * side, side])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (0, 0), (0, 0), "LEFT"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [table, _DoubleRule(width), Spacer(1, 4 * MM)]


def _logo(path: str | Path | None) -> Image | None:
    """The coat of arms, LOGO_MM high; None when there is none or it cannot be read."""
    if not path:
        return None
    try:
        reader = ImageReader(str(path))
        wide, high = reader.getSize()
    except (OSError, ValueError, SyntaxError):  # a missing or broken image prints without a logo
        return None
    if not wide or not high:
        return None
    if wide * high > LOGO_MAX_PIXELS:  # decoded for every print: a huge scan would cost hundreds of MB each time
        log.warning(
            "the office logo %s is %sx%s pixels, more than a letterhead needs: printed without it", path, wide, high
        )
        return None
    height = LOGO_MM * MM
    return Image(str(path), width=min(height * wide / high, (LOGO_MM + 4) * MM), height=height, kind="proportional")


class _DoubleRule(Flowable):
    """The kop surat's rule: a thick line over a thin one."""

    def __init__(self, width: float) -> None:
        super().__init__()
        self.width, self.height = width, 5.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 (reportlab's names)
        return self.width, self.height

    def draw(self) -> None:
        self.canv.setLineWidth(2.2)
        self.canv.line(0, 3.9, self.width, 3.9)
        self.canv.setLineWidth(0.7)
        self.canv.line(0, 0.9, self.width, 0.9)


def _title(title: str, styles: Mapping[str, ParagraphStyle]) -> Flowable:
    return Paragraph("<br/>".join(escape(line) for line in title.split("\n")), styles["title"])


def _details(
    layout: PrintLayout, values: Mapping[str, Any], lang: str, width: float, styles: Mapping[str, ParagraphStyle]
) -> Table | None:
    """Label : value lines under the title (Hari/Tanggal, Tempat, Kegiatan)."""
    if not layout.details:
        return None
    style = styles["detail"]
    rows = []
    for detail in layout.details:
        if detail.key is not None:
            value = formatted(values.get(detail.key), detail.format, lang)
        else:
            value = detail.value.get(lang) if detail.value else ""
        rows.append([Paragraph(escape(detail.label.get(lang)), style), ":", Paragraph(escape(value), style)])
    widest = max(stringWidth(d.label.get(lang), style.fontName, style.fontSize) for d in layout.details)
    label_width = min(widest + 4, width / 3)
    table = Table(rows, colWidths=[label_width, 8, width - label_width - 8], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 10),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def _signature_block(
    layout: PrintLayout,
    head: Letterhead,
    signers: Sequence[Signer],
    signed_on: date,
    words: _Words,
    lang: str,
    width: float,
    styles: Mapping[str, ParagraphStyle],
) -> Table:
    """Place and date, position, room to sign, name bold and underlined, NIP; "Mengetahui," at the left."""
    spec = layout.signature
    assert spec is not None
    by_role = {}
    for signer in signers:
        by_role.setdefault(signer.role, signer)
    style = styles["sign"]
    block = min(85 * MM, width * 0.42)
    right = _signer_cells(by_role.get(spec.signer), f"{head.city}, {long_date(signed_on, lang)}", style)
    left = _signer_cells(by_role.get(spec.mengetahui), words.acknowledged, style) if spec.mengetahui else ""
    table = Table([[left, "", right]], colWidths=[block, width - 2 * block, block])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _signer_cells(signer: Signer | None, opening: str, style: ParagraphStyle) -> list[Flowable]:
    """One signature: its opening line, position, room, name, rank and NIP (dotted lines when no one is set)."""
    dots = "." * 40
    position = signer.position if signer and signer.position else dots
    name = signer.name if signer and signer.name else dots
    cells: list[Flowable] = [
        Paragraph(escape(opening), style),
        Paragraph(escape(position), style),
        Spacer(1, SIGN_SPACE_MM * MM),
        Paragraph(f"<b><u>{escape(name)}</u></b>", style),
    ]
    if signer and signer.rank:
        cells.append(Paragraph(escape(signer.rank), style))
    cells.append(Paragraph(escape(f"NIP. {signer.nip}" if signer and signer.nip else "NIP. " + "." * 24), style))
    return cells


@dataclass(frozen=True)
class _Footer:
    """Drawn on every page once the count is known: the title at the left, "Halaman X dari Y" at the right."""

    page: str
    title: str
    page_width: float
    frame_width: float

    def draw(self, canvas: Canvas, number: int, total: int) -> None:
        y = (MARGIN_BOTTOM - 8) * MM
        right = self.page_width - MARGIN_RIGHT * MM
        canvas.setFont(SANS, FOOTER_SIZE)
        label = self.page % {"page": number, "pages": total}
        canvas.drawRightString(right, y, label)
        room = self.frame_width - canvas.stringWidth(label, SANS, FOOTER_SIZE) - 10 * MM
        title = self.title
        while title and canvas.stringWidth(title, SANS, FOOTER_SIZE) > room:
            title = title[: max(len(title) - 8, 0)].rstrip() + "…" if len(title) > 8 else ""
        canvas.setFillGray(0.35)
        canvas.drawString(MARGIN_LEFT * MM, y, title)


class _PagedCanvas(Canvas):
    """A canvas that holds its pages until the end, to write "Halaman X dari Y" with Y known."""

    footer: _Footer
    total = 0

    @classmethod
    def counting(cls, footer: _Footer) -> type[_PagedCanvas]:
        """A canvas class for one build, drawing `footer`; its `total` is the page count afterwards."""
        return type("PagedCanvas", (cls,), {"footer": footer})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        type(self).total = total
        for number, state in enumerate(self._held, start=1):
            self.__dict__.update(state)
            self.footer.draw(self, number, total)
            Canvas.showPage(self)
        self._held = []
        Canvas.save(self)
