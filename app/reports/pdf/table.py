"""The roster's table as one logical table over any number of rows, streamed page by page.

reportlab's Table measures every row again each time it splits, so one 10,000-row Table takes
quadratic time, and chunked Tables repeat their header wherever a chunk begins. Here each row
is measured once, as it is pulled from the caller's iterator, and each page gets a flowable
holding just the rows that fit under its header: the header appears at the top of every page
and nowhere else, and only about a page of rows is held at a time.

A cell's text is wrapped by words (a word wider than its cell by characters); a row taller than
a page is split across pages, and a cell longer than MAX_CELL_LINES lines is cut with a mark.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import repeat
from typing import Any

from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak
from reportlab.platypus.flowables import Flowable

from .fonts import CONDENSED, CONDENSED_BOLD
from .formats import amount_of, formatted, rupiah
from .layout import MM, PrintLayout

ENCODED_CACHE = 20_000  # distinct cell texts kept encoded (desa names, positions repeat)
MAX_CELL_LINES = 300  # about five pages of one cell: more is cut, with CUT_MARK as its last line
PAD_X, PAD_Y = 1.2 * MM, 0.9 * MM
LINE_WIDTH = 0.5
KEEP_WITH_TAIL = 3  # rows carried to the signature's page rather than leave it without rows
PROGRESS_EVERY = 500

Line = tuple[str, float]  # text and its width in points


@dataclass(frozen=True)
class Words:
    """The few words a table prints itself, in the print's language."""

    cut: str = "[… terpotong]"
    continued: str = "(lanjutan)"
    subtotal: str = "Jumlah"
    total: str = "JUMLAH SELURUHNYA"
    empty: str = "Tidak ada data"


WORDS = {"id": Words(), "en": Words("[… cut]", "(continued)", "Total", "GRAND TOTAL", "No records")}


@dataclass(slots=True)
class Item:
    """One printed row: cells over column spans (start, end), their wrapped lines and alignments."""

    kind: str  # row, group, subtotal, total, empty, break
    spans: tuple[tuple[int, int], ...]
    cells: list[list[Line]]
    aligns: tuple[str, ...]
    height: float
    bold: bool = False
    number: int | None = None  # the row's number: its signature box's place
    continued: bool = False  # the rest of a row split across pages


class _Measure:
    """The one method of a font that wrapping needs, through Geometry.measure."""

    def __init__(self, geometry: Geometry, bold: bool) -> None:
        self.geometry, self.bold = geometry, bold

    def stringWidth(self, text: str, size: float) -> float:  # noqa: N802 (as reportlab's fonts name it)
        return self.geometry.measure(text, self.bold)


class Geometry:
    """Widths, positions and fonts of one layout's table, and the text wrapping they imply."""

    def __init__(self, layout: PrintLayout, lang: str) -> None:
        self.layout = layout
        self.lang = lang
        self.words = WORDS.get(lang, WORDS["id"])
        self.widths = layout.column_widths()
        self.x = [sum(self.widths[:i]) for i in range(len(self.widths) + 1)]
        self.width = self.x[-1]
        self.size = layout.font_size
        self.leading = self.size * 1.2
        self.font = pdfmetrics.getFont(CONDENSED)
        self.bold_font = pdfmetrics.getFont(CONDENSED_BOLD)
        self._encoded: dict[tuple[bool, str], list[tuple[str, str]]] = {}
        self._doc: Any = None
        # Signature and thumbprint need room to sign: a row is at least 10 mm unless the layout says.
        boxes = any(c.kind in ("signature", "thumbprint") for c in layout.columns)
        fallback = 10 * MM if boxes else 0.0
        self.min_height = layout.row_height_mm * MM if layout.row_height_mm else fallback
        self.single = tuple((i, i + 1) for i in range(len(layout.columns)))
        self.aligns = tuple(c.align for c in layout.columns)
        self.header = self._header()

    def measure(self, text: str, bold: bool = False) -> float:
        """The width of `text` in points (reportlab's own sum, without a generator per character)."""
        face = (self.bold_font if bold else self.font).face
        return 0.001 * self.size * sum(map(face.charWidths.get, map(ord, text), repeat(face.defaultWidth)))

    def encoded(self, canvas: Canvas, text: str, bold: bool) -> list[tuple[str, str]]:
        """`text` as (font subset, escaped bytes) pieces for a Tj operator; repeated texts encoded once."""
        if canvas._doc is not self._doc:  # subsets belong to one document
            self._doc, self._encoded = canvas._doc, {}
        key = (bold, text)
        pieces = self._encoded.get(key)
        if pieces is None:
            font = self.bold_font if bold else self.font
            doc = canvas._doc
            pieces = [
                (font.getSubsetInternalName(subset, doc), escapePDF(chunk))
                for subset, chunk in font.splitString(text, doc)
            ]
            if len(self._encoded) >= ENCODED_CACHE:  # mostly names seen once: start afresh
                self._encoded.clear()
            self._encoded[key] = pieces
        return pieces

    def wrap(self, text: str, width: float, bold: bool = False) -> list[Line]:
        """`text` broken into lines no wider than `width` (words first, then characters)."""
        font = _Measure(self, bold)
        size = self.size
        width -= 2 * PAD_X
        if "\n" not in text and "\r" not in text:
            whole = font.stringWidth(text, size)
            if whole <= width:
                return [(text, whole)]
        space = font.stringWidth(" ", size)
        lines: list[Line] = []
        for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            line, used = "", 0.0
            for word in paragraph.split():
                wide = font.stringWidth(word, size)
                if line and used + space + wide <= width:
                    line, used = f"{line} {word}", used + space + wide
                    continue
                if line:
                    lines.append((line, used))
                if wide <= width:
                    line, used = word, wide
                else:
                    pieces = self._chop(word, width, font)
                    lines.extend(pieces[:-1])
                    line, used = pieces[-1]
                if len(lines) > MAX_CELL_LINES:
                    break
            if line or not lines:
                lines.append((line, used))
            if len(lines) > MAX_CELL_LINES:
                break
        if len(lines) > MAX_CELL_LINES:
            mark = self.words.cut
            lines = [*lines[: MAX_CELL_LINES - 1], (mark, font.stringWidth(mark, size))]
        return lines

    def _chop(self, word: str, width: float, font: Any) -> list[Line]:
        """A word wider than its cell, cut into pieces that fit (a URL, a name without spaces)."""
        pieces: list[Line] = []
        piece, used = "", 0.0
        for char in word:
            wide = font.stringWidth(char, self.size)
            if piece and used + wide > width:
                pieces.append((piece, used))
                piece, used = "", 0.0
            piece, used = piece + char, used + wide
        pieces.append((piece, used))
        return pieces

    def height_of(self, cells: Sequence[list[Line]], minimum: float = 0.0) -> float:
        """A row's height: its tallest cell's lines, padded, and no less than `minimum`."""
        tallest = max((len(lines) for lines in cells), default=1)
        return max(tallest * self.leading + 2 * PAD_Y, minimum)

    def _header(self) -> Item:
        cells = [
            self.wrap(c.label.get(self.lang), w, bold=True)
            for c, w in zip(self.layout.columns, self.widths, strict=True)
        ]
        aligns = ("center",) * len(cells)
        return Item("header", self.single, cells, aligns, self.height_of(cells), bold=True)

    def spanned(self, kind: str, label: str, values: dict[int, str] | None = None) -> Item:
        """A heading over the whole width, or a total row: its label over the columns before the first sum."""
        columns = len(self.layout.columns)
        if not values:
            cells = [self.wrap(label, self.width, bold=True)]
            return Item(kind, ((0, columns),), cells, ("left",), self.height_of(cells), bold=True)
        first = min(values)
        spans: list[tuple[int, int]] = [(0, first)] if first else []
        cells = [self.wrap(label, self.x[first], bold=True)] if first else []
        aligns = ["right"] if first else []
        for index in range(first, columns):
            spans.append((index, index + 1))
            cells.append(self.wrap(values.get(index, ""), self.widths[index], bold=True))
            aligns.append(self.aligns[index])
        return Item(kind, tuple(spans), cells, tuple(aligns), self.height_of(cells), bold=True)


def roster_items(
    geometry: Geometry, rows: Iterable[Sequence[Any]], progress: Callable[[int], None] | None = None
) -> Iterator[Item]:
    """The printed rows of `rows` (values in `layout.fields` order): data, group headings, subtotals, totals."""
    layout = geometry.layout
    fields = layout.fields
    where = {name: index for index, name in enumerate(fields)}
    columns = layout.columns
    plan = [(c.kind, where.get(c.field, -1), c.format, w) for c, w in zip(columns, geometry.widths, strict=True)]
    totals = {i: where[c.field] for i, c in enumerate(columns) if c.field in layout.totals}
    money = {i: columns[i].format == "rupiah" for i in totals}
    group = layout.group_by
    group_at = where[group.field] if group else -1
    group_label = group.label.get(geometry.lang) if group and group.label else ""
    sums = dict.fromkeys(totals, Decimal(0))
    grand = dict.fromkeys(totals, Decimal(0))
    current: Any = _NOTHING
    number = count = 0
    lang = geometry.lang
    wrap, height_of, minimum, aligns, single = (
        geometry.wrap,
        geometry.height_of,
        geometry.min_height,
        geometry.aligns,
        geometry.single,
    )

    def sum_row(kind: str, label: str, values: dict[int, Decimal]) -> Item:
        shown = {i: rupiah(v) if money[i] else formatted(v, "number") for i, v in values.items()}
        return geometry.spanned(kind, label, shown)

    for row in rows:
        if len(row) != len(fields):
            raise ValueError(f"row {count + 1} has {len(row)} values; the layout's fields are {', '.join(fields)}")
        if group is not None and row[group_at] != current:
            if current is not _NOTHING:
                if totals:
                    yield sum_row("subtotal", f"{geometry.words.subtotal} {_text(current)}", sums)
                    sums = dict.fromkeys(totals, Decimal(0))
                if group.new_page:
                    yield Item("break", (), [], (), 0.0)
            current = row[group_at]
            if group.restart_numbering:
                number = 0
            heading = f"{group_label}: {_text(current)}" if group_label else _text(current)
            yield geometry.spanned("group", heading)
        number += 1
        count += 1
        cells: list[list[Line]] = []
        for kind, at, fmt, width in plan:
            if kind == "field":
                value = row[at]
                cells.append(wrap(formatted(value, fmt, lang), width) if value is not None else [])
            elif kind == "no":
                cells.append(wrap(str(number), width))
            else:
                cells.append([])
        for index, at in totals.items():
            amount = amount_of(row[at])
            sums[index] += amount
            grand[index] += amount
        yield Item("row", single, cells, aligns, height_of(cells, minimum), number=number)
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    if count == 0:
        yield geometry.spanned("empty", geometry.words.empty)
        return
    if totals:
        if group is not None:
            yield sum_row("subtotal", f"{geometry.words.subtotal} {_text(current)}", sums)
        yield sum_row("total", geometry.words.total, grand)
    if progress is not None:
        progress(count)


_NOTHING = object()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def split_item(geometry: Geometry, item: Item, room: float) -> tuple[Item, Item] | None:
    """A row cut at `room` points: the lines that fit, and the rest (None if not even one line fits)."""
    fit = int((room - 2 * PAD_Y) // geometry.leading)
    if fit < 1:
        return None
    first = [lines[:fit] for lines in item.cells]
    rest = [lines[fit:] for lines in item.cells]
    head = replace(item, cells=first, height=geometry.height_of(first))
    tail = replace(item, cells=rest, height=geometry.height_of(rest), number=None, continued=True)
    return head, tail


@dataclass
class _Progress:
    """What the pages placed so far leave open: the group a page break fell inside."""

    group: Item | None = None
    broken: bool = False  # the last page ended inside `group`


class RosterStream(Flowable):
    """The rest of the roster: splits into a page of rows (RosterPage) and itself, until the rows run out.

    `tail` is the height of what must follow on the last page (the signature block): the last
    rows are carried over with it rather than leave it alone on a page without rows.
    """

    def __init__(
        self,
        geometry: Geometry,
        items: Iterator[Item],
        tail: float = 0.0,
        pending: deque[Item] | None = None,
        state: _Progress | None = None,
    ) -> None:
        super().__init__()
        self.geometry = geometry
        self.items = items
        self.tail = tail
        self.pending: deque[Item] = pending if pending is not None else deque()
        self.state = state or _Progress()
        self.exhausted = False

    def _fill(self, height: float) -> None:
        """Pull items until they would fill `height`, a page break is met, or the rows run out."""
        used = sum(item.height for item in self.pending)
        while used <= height and not (self.pending and self.pending[-1].kind == "break"):
            item = next(self.items, None)
            if item is None:
                self.exhausted = True
                return
            self.pending.append(item)
            used += item.height

    def _opening(self) -> list[Item]:
        """What the page starts with under the header: the group heading again if a group goes on."""
        state = self.state
        if state.broken and state.group is not None and self.pending and self.pending[0].kind in ("row", "subtotal"):
            label = state.group.cells[0][0][0] if state.group.cells and state.group.cells[0] else ""
            return [self.geometry.spanned("group", f"{label} {self.geometry.words.continued}")]
        return []

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 (reportlab's names)
        self._fill(availHeight)
        height = (
            self.geometry.header.height + sum(i.height for i in self._opening()) + sum(i.height for i in self.pending)
        )
        breaks = any(item.kind == "break" for item in self.pending)
        if self.exhausted and not breaks and height + self.tail <= availHeight:
            return self.geometry.width, height
        return self.geometry.width, availHeight + 1  # more than fits: the frame asks for a split

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        self._fill(availHeight)
        geometry = self.geometry
        at_top = bool(getattr(getattr(self, "_frame", None), "_atTop", False))
        opening = self._opening()
        room = availHeight - geometry.header.height - sum(i.height for i in opening) - 0.5
        placed: list[Item] = []
        pending = self.pending
        page_break = False
        while pending:
            item = pending[0]
            if item.kind == "break":
                pending.popleft()
                page_break = bool(placed)
                if page_break:
                    break
                continue
            if item.height <= room:
                placed.append(pending.popleft())
                room -= item.height
                continue
            # A row taller than any page is cut here; a shorter one waits for the next page.
            full_page = (self._frame_height() or availHeight) - geometry.header.height
            if item.height > full_page - 1 or (at_top and not placed):
                parts = split_item(geometry, item, room)
                if parts is not None:
                    pending.popleft()
                    pending.appendleft(parts[1])
                    placed.append(parts[0])
                    room -= parts[0].height
            break
        while len(placed) > 1 and placed[-1].kind == "group":  # a heading goes with its first row
            pending.appendleft(placed.pop())
        if not pending and self.exhausted and self.tail > room and not page_break:
            # The signature block will not fit under the last rows: take a few rows to its page.
            rows = [i for i, item in enumerate(placed) if item.kind == "row"]
            if len(rows) > KEEP_WITH_TAIL:
                keep = rows[-KEEP_WITH_TAIL]
                pending.extendleft(reversed(placed[keep:]))
                del placed[keep:]
                page_break = True  # they would fit below: they must go over, with the signature
        if not placed:
            if at_top:  # nothing fits even on an empty page: should not happen, but never loop
                placed.append(pending.popleft())
            else:
                return []
        self._remember(placed)
        page: list[Flowable] = [RosterPage(geometry, opening + placed)]
        if page_break:
            page.append(PageBreak())
        if pending or not self.exhausted:
            page.append(RosterStream(geometry, self.items, self.tail, pending, self.state))
        return page

    def _frame_height(self) -> float:
        frame = getattr(self, "_frame", None)
        return float(getattr(frame, "_aH", 0.0)) if frame is not None else 0.0

    def _remember(self, placed: list[Item]) -> None:
        """Which group the next page continues (its heading is shown again there)."""
        state = self.state
        for item in placed:
            if item.kind == "group":
                state.group = item
            elif item.kind in ("subtotal", "total"):
                state.group = None
        state.broken = state.group is not None

    def draw(self) -> None:
        # Everything fitted on this page (wrap said so): draw it as a last page.
        self._fill(float("inf"))
        opening = self._opening()
        RosterPage(self.geometry, opening + list(self.pending)).drawOn(self.canv, 0, 0)


class RosterPage(Flowable):
    """The header and the rows of one page, drawn with plain canvas calls (one text object per page)."""

    def __init__(self, geometry: Geometry, items: list[Item]) -> None:
        super().__init__()
        self.geometry = geometry
        self.items = items
        self.height = geometry.header.height + sum(item.height for item in items)
        self.width = geometry.width

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def draw(self) -> None:
        # The page's text and rules written as PDF operators in one piece: reportlab's text object
        # measures every string again and formats every number through fp_str, most of the time
        # of a long roster. Fonts go through the font's own subsetting (splitString).
        geometry = self.geometry
        canvas: Canvas = self.canv
        size = geometry.size
        text: list[str] = ["BT 0 g"]
        rules: list[str] = [f"{LINE_WIDTH} w 0 G"]
        x = geometry.x
        top = self.height
        current = ""
        for item in (geometry.header, *self.items):
            bottom = top - item.height
            rules.append(f"0 {bottom:.2f} m {self.width:.2f} {bottom:.2f} l")
            for (start, end), lines, align in zip(item.spans, item.cells, item.aligns, strict=True):
                if start:
                    rules.append(f"{x[start]:.2f} {top:.2f} m {x[start]:.2f} {bottom:.2f} l")
                if not lines:
                    continue
                left, right = x[start] + PAD_X, x[end] - PAD_X
                block = len(lines) * geometry.leading
                # Middle of the row; the rest of a split row from its top, as it continues.
                first = top - (PAD_Y if item.continued else (item.height - block) / 2) - size
                for index, (line, wide) in enumerate(lines):
                    if not line:
                        continue
                    at = right - wide if align == "right" else (left + right - wide) / 2 if align == "center" else left
                    text.append(f"1 0 0 1 {at:.2f} {first - index * geometry.leading:.2f} Tm")
                    current = self._show(text, line, item.bold, current)
            if item.kind == "row" and item.number is not None:
                current = self._boxes(text, item, bottom, current)
            top = bottom
        text.append("ET")
        rules.append(f"0 0 m 0 {self.height:.2f} l {self.width:.2f} {self.height:.2f} l {self.width:.2f} 0 l S")
        canvas.addLiteral("\n".join(rules))
        canvas.addLiteral("\n".join(text))

    def _show(self, ops: list[str], line: str, bold: bool, current: str) -> str:
        """Tj operators for `line`, switching font subsets as needed; returns the subset in use."""
        for subset, chunk in self.geometry.encoded(self.canv, line, bold):
            if subset != current:
                ops.append(f"{subset} {self.geometry.size:.2f} Tf")
                current = subset
            ops.append(f"({chunk}) Tj")
        return current

    def _boxes(self, ops: list[str], item: Item, bottom: float, current: str) -> str:
        """Signature boxes: "1. ……" in the left half, "2. ……" in the right, alternating by row number."""
        geometry = self.geometry
        for index, column in enumerate(geometry.layout.columns):
            if column.kind != "signature":
                continue
            half = geometry.widths[index] / 2
            left = geometry.x[index] + (half if item.number % 2 == 0 else 0) + PAD_X
            label = f"{item.number}. "
            dots = _dots(geometry, half - 2 * PAD_X - geometry.measure(label))
            ops.append(f"1 0 0 1 {left:.2f} {bottom + (item.height - geometry.size) / 2 - 1.5:.2f} Tm")
            current = self._show(ops, label, False, current)
            current = self._show(ops, dots, False, current)  # Tj moves on: the dots follow the number
        return current


def _dots(geometry: Geometry, width: float) -> str:
    """A dotted line to sign on, as wide as `width`."""
    dot = geometry.measure(".")
    return "." * max(int(width // dot), 3)
