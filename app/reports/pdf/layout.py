"""A print layout declared as data (YAML, or JSON from the panel), read into a frozen PrintLayout.

Every problem is located as the form engine locates them
("layouts/x.yaml: columns[2].width: must be a number of millimetres, not 'lebar' (line 14)").
The keys, with an example in layouts/*.yaml:

    form: penerima_bantuan            # the form whose records it prints (optional)
    title: {id: "DAFTAR PENERIMA {program}", en: ...}   # {key}: filled from the print's values
    paper: F4                          # F4 (215 x 330 mm) or A4
    orientation: landscape             # portrait or landscape
    font_size: 9                       # points, of the table (6 to 14)
    row_height: 12                     # millimetres, the least height of a data row
    details:                           # lines under the title: label, then a value or a key
      - {label: Hari/Tanggal, key: tanggal, format: day_date}
      - {label: Tempat, key: tempat}
    columns:                           # left to right
      - {kind: "no", label: "No."}     # kinds: field (the default), "no" (quoted: YAML reads no as false), signature, thumbprint
      - {field: nama, label: Nama, weight: 3}               # weight: a share of what is left
      - {field: jumlah, label: Jumlah, width: 30, format: rupiah, align: right}   # width: mm
      - {kind: signature, label: Tanda Tangan, width: 45}
    group_by: {field: desa, label: Desa/Kelurahan, new_page: true, restart_numbering: true}
    totals: [jumlah]                   # summed per group and in all
    signature_block: {signer: kabid, mengetahui: kepala}   # roles of the office's officials
    values:                            # where a key's value comes from (else the print dialog asks):
      program: program.nama            #   a reference field of the form, then fields along it: taken
      kabupaten: kantor.kabupaten      #   when the list is filtered to one such record; kantor.<field>:
                                       #   the office settings; today: the print's date

A field may name a region field's wider area, `desa.kecamatan`: the caller supplies its name.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.forms_engine.loader import DefinitionError, DefinitionErrors, _Reader, read_file
from app.forms_engine.messages import N_, Message, shown
from app.forms_engine.names import is_name
from app.forms_engine.shapes import FLAG, LABEL, NAMES, TEXT, Anything, Either, Keys, MapOf, Seq, conform
from app.forms_engine.spec import Text, join_path

from .formats import FORMATS

MM = 72 / 25.4  # points per millimetre
PAPERS = {"F4": (215.0, 330.0), "A4": (210.0, 297.0)}  # millimetres, portrait
ORIENTATIONS = ("portrait", "landscape")
# Page margins in millimetres: the left one wider for binding, as office files are bound.
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 20.0, 12.0, 12.0, 15.0
KINDS = ("field", "no", "signature", "thumbprint")
ALIGNS = ("left", "center", "right")
SIGNER_ROLES = ("kepala", "sekretaris", "kabid", "lainnya")  # pengaturan_kantor.pejabat.peran
REGION_PARTS = ("provinsi", "kabupaten", "kecamatan", "desa")
NUMERIC_FORMATS = ("rupiah", "number")
MIN_COLUMN_MM = 5.0
MIN_WEIGHTED_MM = 8.0  # the least a weighted column may be left with
MAX_COLUMNS = 30
MAX_DETAILS = 20
FONT_SIZES = (6.0, 14.0)
ROW_HEIGHTS = (4.0, 60.0)
DEFAULT_LABELS = {
    "no": Text("No.", "No."),
    "signature": Text("Tanda Tangan", "Signature"),
    "thumbprint": Text("Cap Jempol", "Thumbprint"),
}
DEFAULT_WIDTHS = {"no": 10.0, "thumbprint": 22.0}  # mm, when a column of that kind gives none
# Field types a column can print, and which formats each takes (text always).
NUMERIC_TYPES = ("integer", "decimal", "money")
DATE_TYPES = ("date", "datetime")
UNPRINTABLE_TYPES = ("child", "file", "photo")

LAYOUT_KEYS = (
    "form",
    "title",
    "paper",
    "orientation",
    "font_size",
    "row_height",
    "details",
    "columns",
    "group_by",
    "totals",
    "signature_block",
    "values",
)
COLUMN_KEYS = ("field", "kind", "label", "width", "weight", "align", "format")
DETAIL_KEYS = ("label", "key", "value", "format")
GROUP_KEYS = ("field", "label", "new_page", "restart_numbering")
SIGNATURE_KEYS = ("signer", "mengetahui")

COLUMN = Keys(
    {
        "field": TEXT,
        "kind": TEXT,
        "label": LABEL,
        "width": Anything(),
        "weight": Anything(),
        "align": TEXT,
        "format": TEXT,
    },
    N_("a column: a mapping with field or kind, and label"),
)
DETAIL = Keys(
    {"label": LABEL, "key": TEXT, "value": LABEL, "format": TEXT},
    N_("a detail line: a mapping with label, and key or value"),
)
GROUP = Either(
    (TEXT, Keys({"field": TEXT, "label": LABEL, "new_page": FLAG, "restart_numbering": FLAG})),
    N_("a field name or a mapping with field"),
)
SIGNATURE = Either(
    (FLAG, Keys({"signer": TEXT, "mengetahui": TEXT})),
    N_("false or a mapping with signer"),
)
LAYOUT = Keys(
    {
        "form": TEXT,
        "title": LABEL,
        "paper": TEXT,
        "orientation": TEXT,
        "font_size": Anything(),
        "row_height": Anything(),
        "details": Seq(DETAIL, MAX_DETAILS),
        "columns": Seq(COLUMN, MAX_COLUMNS),
        "group_by": GROUP,
        "totals": NAMES,
        "signature_block": SIGNATURE,
        "values": MapOf(TEXT, MAX_DETAILS, N_("a mapping of keys to where their values come from")),
    },
    N_("a print layout: a mapping with title and columns"),
)


@dataclass(frozen=True)
class Column:
    """One column of the roster: a field's value, the row number, or a box to sign or thumbprint."""

    kind: str
    label: Text
    field: str | None = None
    width_mm: float | None = None  # fixed width, or
    weight: float = 1.0  # a share of the width the fixed columns leave
    align: str = "left"
    format: str = "text"


@dataclass(frozen=True)
class Detail:
    """A line under the title: "Tempat : Aula Dinas Sosial"; its value given, or the print's `values[key]`."""

    label: Text
    key: str | None = None
    value: Text | None = None
    format: str = "text"


@dataclass(frozen=True)
class Grouping:
    """Rows grouped by a field (arriving ordered by it): a heading and subtotals per group."""

    field: str
    label: Text | None = None
    new_page: bool = False
    restart_numbering: bool = False


@dataclass(frozen=True)
class SignatureSpec:
    """Which of the office's officials signs (by role), and which acknowledges ("Mengetahui,")."""

    signer: str
    mengetahui: str | None = None


@dataclass(frozen=True)
class PrintLayout:
    """A checked print layout; `fields` says what each row must carry, in order."""

    title: Text
    columns: tuple[Column, ...]
    paper: str = "F4"
    orientation: str = "portrait"
    font_size: float = 9.0
    row_height_mm: float | None = None
    details: tuple[Detail, ...] = ()
    group_by: Grouping | None = None
    totals: tuple[str, ...] = ()
    signature: SignatureSpec | None = None
    form: str | None = None
    source: str = "layout"
    sources: Mapping[str, str] = field(default_factory=dict)  # key -> "angkatan.bimtek.judul", "kantor.kabupaten"

    @property
    def fields(self) -> tuple[str, ...]:
        """The values each row carries, in this order: the column fields, then the group field."""
        names = [c.field for c in self.columns if c.field is not None]
        if self.group_by is not None:
            names.append(self.group_by.field)
        return tuple(dict.fromkeys(names))

    @property
    def title_keys(self) -> tuple[str, ...]:
        """The `{key}`s the title is filled in with."""
        return placeholders(self.title.id) + tuple(k for k in placeholders(self.title.en) if k not in self.title.id)

    @property
    def value_keys(self) -> tuple[str, ...]:
        """Every key of the print's `values` the title and details read."""
        return tuple(dict.fromkeys(self.title_keys + tuple(d.key for d in self.details if d.key)))

    @property
    def page_size_mm(self) -> tuple[float, float]:
        """(width, height) of the page in millimetres, as oriented."""
        short, long = PAPERS[self.paper]
        return (long, short) if self.orientation == "landscape" else (short, long)

    @property
    def page_size(self) -> tuple[float, float]:
        """(width, height) of the page in points."""
        width, height = self.page_size_mm
        return width * MM, height * MM

    @property
    def usable_width_mm(self) -> float:
        """The width between the margins, in millimetres."""
        return self.page_size_mm[0] - MARGIN_LEFT - MARGIN_RIGHT

    def column_widths(self) -> tuple[float, ...]:
        """Each column's width in points: fixed ones as given, the rest sharing what is left by weight."""
        fixed = sum(c.width_mm for c in self.columns if c.width_mm is not None)
        weights = sum(c.weight for c in self.columns if c.width_mm is None)
        left = max(self.usable_width_mm - fixed, 0.0)
        return tuple((c.width_mm if c.width_mm is not None else left * c.weight / weights) * MM for c in self.columns)


def placeholders(text: str) -> tuple[str, ...]:
    """The `{key}` names in a title (raises ValueError on unbalanced braces)."""
    return tuple(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


class _LayoutReader(_Reader):
    """The form engine's reader, with the checks a layout's numbers and choices need."""

    def choice(self, data: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...], default: str) -> str:
        value = data.get(key)
        if value is None:
            return default
        if value not in allowed:
            self.error(
                join_path(path, key),
                N_("'%(value)s' is not one of %(expected)s"),
                value=shown(value),
                expected=", ".join(allowed),
            )
            return default
        return value

    def measure(
        self, data: Mapping[str, Any], key: str, path: str, expected: str, low: float, high: float
    ) -> float | None:
        """A number from `low` to `high` (`expected` names its unit), or None (absent, or reported)."""
        value = data.get(key)
        if value is None:
            return None
        at = join_path(path, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.error(at, N_("must be %(expected)s, not '%(value)s'"), expected=Message(expected), value=shown(value))
            return None
        if not low <= value <= high:
            self.error(
                at, N_("must be %(expected)s from %(min)s to %(max)s"), expected=Message(expected), min=low, max=high
            )
            return None
        return float(value)

    def field_name(self, value: str | None, path: str) -> str | None:
        """A field name, or a region field's wider area (`desa.kecamatan`)."""
        if not value:
            self.error(path, N_("is required"))
            return None
        name, _, part = value.partition(".")
        if not is_name(name) or (part and part not in REGION_PARTS):
            self.error(
                path,
                N_("'%(name)s' is not a field name (a-z, 0-9 and _), nor a region field's area such as desa.kecamatan"),
                name=shown(value),
            )
            return None
        return value


MILLIMETRES = N_("a number of millimetres")
POINTS = N_("a size in points")
SHARE = N_("a number (a share of the width left)")


def parse_layout(
    raw: Any,
    source: str = "layout",
    lines: Mapping[str, int] | None = None,
    fields: Mapping[str, str] | None = None,
) -> PrintLayout:
    """Read a layout (parsed YAML or JSON) into a PrintLayout; raise DefinitionErrors with every problem.

    With `fields` (the form's field names and their types), the columns, group and totals are
    checked against the form too (see `check_fields`).
    """
    reader = _LayoutReader(source, lines or {})
    data = conform(LAYOUT, raw, "", reader.error)
    if reader.errors:
        raise DefinitionErrors(reader.errors)
    reader.keys(data, LAYOUT_KEYS, "")
    title = reader.text(data.get("title"), "title")
    for lang, text in (("id", title.id if title else ""), ("en", title.en if title else "")):
        _check_placeholders(
            reader, text, join_path("title", lang) if isinstance(data.get("title"), Mapping) else "title"
        )
    paper = data.get("paper", "F4")
    paper = paper.upper() if isinstance(paper, str) and paper.upper() in PAPERS else paper  # "f4" is F4
    paper = reader.choice({"paper": paper}, "paper", "", tuple(PAPERS), "F4")
    orientation = reader.choice(data, "orientation", "", ORIENTATIONS, "portrait")
    font_size = reader.measure(data, "font_size", "", POINTS, *FONT_SIZES)
    row_height = reader.measure(data, "row_height", "", MILLIMETRES, *ROW_HEIGHTS)
    details = tuple(
        d
        for index, item in enumerate(data.get("details") or ())
        if (d := _parse_detail(reader, item, f"details[{index}]")) is not None
    )
    columns = _parse_columns(reader, data.get("columns"), "columns")
    group = _parse_group(reader, data.get("group_by"), "group_by")
    totals = tuple(data.get("totals") or ())
    numeric = {c.field for c in columns if c.field is not None and c.format in NUMERIC_FORMATS}
    for index, name in enumerate(totals):
        if name not in numeric:
            reader.error(
                f"totals[{index}]" if isinstance(data.get("totals"), list) else "totals",
                N_("'%(name)s' is not a column with format rupiah or number"),
                name=shown(name),
            )
    signature = _parse_signature(reader, data.get("signature_block"), "signature_block")
    sources = _parse_sources(reader, data.get("values") or {}, "values")
    layout = PrintLayout(
        title=title or Text(""),
        columns=columns,
        paper=paper,
        orientation=orientation,
        font_size=font_size or 9.0,
        row_height_mm=row_height,
        details=details,
        group_by=group,
        totals=totals,
        signature=signature,
        form=data.get("form"),
        source=source,
        sources=sources,
    )
    for key in sources:
        if key not in layout.value_keys:
            reader.error(
                join_path("values", key), N_("'%(name)s' is not a {key} of the title nor a key of details"), name=key
            )
    if columns:
        _check_widths(reader, layout)
    if fields is not None:
        reader.errors.extend(check_fields(layout, fields, lines))
    if reader.errors:
        raise DefinitionErrors(reader.errors)
    return layout


def _check_placeholders(reader: _LayoutReader, text: str, path: str) -> None:
    try:
        names = placeholders(text)
    except ValueError:
        reader.error(path, N_("has a '{' or '}' without its pair; write {key} to fill in a value"))
        return
    for name in names:
        if not is_name(name):
            reader.error(path, N_("'{%(name)s}' must name a value: a-z, 0-9 and _"), name=shown(name))


SOURCE_ROOTS = ("kantor", "today")  # the office settings' fields; the print's date


def _parse_sources(reader: _LayoutReader, raw: Mapping[str, str], path: str) -> dict[str, str]:
    """`values:` key -> a dotted path: a reference field and fields along it, kantor.<field>, or today."""
    sources: dict[str, str] = {}
    for key, text in raw.items():
        at = join_path(path, key)
        steps = str(text).split(".")
        if not is_name(key):
            reader.error(at, N_("'%(name)s' must start with a letter and use only a-z, 0-9 and _"), name=shown(key))
        elif not all(is_name(step) for step in steps) or len(steps) > 4:
            reader.error(
                at,
                N_("must be field names joined by dots (at most 4), e.g. angkatan.bimtek.judul, not %(value)s"),
                value=shown(text),
            )
        elif steps[0] == "today" and len(steps) > 1:
            reader.error(at, N_("today stands alone: the print's date"))
        elif steps[0] == "kantor" and len(steps) != 2:
            reader.error(at, N_("kantor takes one field of the office settings, e.g. kantor.kabupaten"))
        elif steps[0] not in SOURCE_ROOTS and len(steps) < 2:
            reader.error(at, N_("must name a reference field and a field of its record, e.g. program.nama"))
        else:
            sources[key] = str(text)
    return sources


def _parse_detail(reader: _LayoutReader, raw: Mapping[str, Any] | None, path: str) -> Detail | None:
    if raw is None:
        return None
    reader.keys(raw, DETAIL_KEYS, path)
    label = reader.text(raw.get("label"), join_path(path, "label"))
    key, value = raw.get("key"), raw.get("value")
    if key is not None and value is not None:
        reader.error(path, N_("give key or value, not both"))
    elif key is None and value is None:
        reader.error(path, N_("needs a key (a value the print is given) or a value"))
    if key is not None and not is_name(key):
        reader.error(
            join_path(path, "key"),
            N_("'%(name)s' must start with a letter and use only a-z, 0-9 and _"),
            name=shown(key),
        )
        key = None
    text = reader.text(value, join_path(path, "value"), required=False) if value is not None else None
    fmt = reader.choice(raw, "format", path, FORMATS, "text")
    if label is None:
        return None
    return Detail(label=label, key=key, value=text, format=fmt)


def _parse_columns(reader: _LayoutReader, raw: list[Any] | None, path: str) -> tuple[Column, ...]:
    if not raw:
        reader.error(path, N_("needs at least one column"))
        return ()
    columns: list[Column] = []
    for index, item in enumerate(raw):
        column = _parse_column(reader, item, f"{path}[{index}]")
        if column is not None:
            columns.append(column)
    return tuple(columns)


def _parse_column(reader: _LayoutReader, raw: Mapping[str, Any] | None, path: str) -> Column | None:
    if raw is None:
        return None
    reader.keys(raw, COLUMN_KEYS, path)
    kind = reader.choice(raw, "kind", path, KINDS, "field")
    field = None
    if kind == "field":
        field = reader.field_name(raw.get("field"), join_path(path, "field"))
    elif "field" in raw:
        reader.error(join_path(path, "field"), N_("a column of kind %(kind)s shows no field"), kind=kind)
    if kind == "field" or "label" in raw:
        label = reader.text(raw.get("label"), join_path(path, "label"))
    else:
        label = DEFAULT_LABELS[kind]
    width = reader.measure(raw, "width", path, MILLIMETRES, MIN_COLUMN_MM, 400.0)
    weight = reader.measure(raw, "weight", path, SHARE, 0.1, 100.0)
    if "width" in raw and "weight" in raw:
        reader.error(path, N_("give width or weight, not both"))
    if width is None and weight is None:
        width = DEFAULT_WIDTHS.get(kind)
    fmt = reader.choice(raw, "format", path, FORMATS, "text")
    if fmt != "text" and kind != "field":
        reader.error(join_path(path, "format"), N_("a column of kind %(kind)s shows no field"), kind=kind)
    if fmt not in ("text", "date", "long_date", "day_date") and field is not None and "." in field:
        reader.error(
            join_path(path, "format"), N_("a region's name is text; it cannot be formatted as %(format)s"), format=fmt
        )
    default_align = (
        "right" if fmt in NUMERIC_FORMATS else "center" if kind in ("no", "thumbprint") or fmt == "date" else "left"
    )
    align = reader.choice(raw, "align", path, ALIGNS, default_align)
    if label is None or (kind == "field" and field is None):
        return None
    return Column(kind=kind, label=label, field=field, width_mm=width, weight=weight or 1.0, align=align, format=fmt)


def _parse_group(reader: _LayoutReader, raw: Any, path: str) -> Grouping | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        name = reader.field_name(raw, path)
        return Grouping(field=name) if name else None
    reader.keys(raw, GROUP_KEYS, path)
    name = reader.field_name(raw.get("field"), join_path(path, "field"))
    label = reader.text(raw.get("label"), join_path(path, "label"), required=False)
    if name is None:
        return None
    return Grouping(
        field=name,
        label=label,
        new_page=bool(raw.get("new_page", False)),
        restart_numbering=bool(raw.get("restart_numbering", False)),
    )


def _parse_signature(reader: _LayoutReader, raw: Any, path: str) -> SignatureSpec | None:
    if raw is None or raw is False:
        return None
    if raw is True:
        return SignatureSpec(signer="kepala")
    reader.keys(raw, SIGNATURE_KEYS, path)
    signer = reader.choice(raw, "signer", path, SIGNER_ROLES, "kepala")
    mengetahui = reader.choice(raw, "mengetahui", path, SIGNER_ROLES, "") or None
    if mengetahui is not None and mengetahui == signer:
        reader.error(join_path(path, "mengetahui"), N_("the same official cannot sign and acknowledge"))
    return SignatureSpec(signer=signer, mengetahui=mengetahui)


def _check_widths(reader: _LayoutReader, layout: PrintLayout) -> None:
    fixed = sum(c.width_mm for c in layout.columns if c.width_mm is not None)
    weighted = sum(1 for c in layout.columns if c.width_mm is None)
    needed = fixed + weighted * MIN_WEIGHTED_MM
    if needed > layout.usable_width_mm + 0.01:
        reader.error(
            "columns",
            N_(
                "need %(needed)s mm but %(paper)s %(orientation)s leaves %(width)s mm between the margins; "
                "narrow some columns or print landscape"
            ),
            needed=round(needed),
            paper=layout.paper,
            orientation=layout.orientation,
            width=round(layout.usable_width_mm),
        )


def check_fields(
    layout: PrintLayout, fields: Mapping[str, str], lines: Mapping[str, int] | None = None
) -> list[DefinitionError]:
    """Problems of `layout` against a form's fields (name -> type): unknown names, formats that do not fit."""
    reader = _LayoutReader(layout.source, lines or {})
    for index, column in enumerate(layout.columns):
        if column.field is not None:
            _check_field(reader, column.field, column.format, f"columns[{index}].field", fields)
    if layout.group_by is not None:
        _check_field(reader, layout.group_by.field, "text", "group_by", fields)
    for key, text in layout.sources.items():
        first = text.split(".", 1)[0]
        if first not in SOURCE_ROOTS and fields.get(first) != "reference":
            reader.error(
                join_path("values", key),
                N_("'%(name)s' is not a reference field of the form; a value comes from a record it refers to"),
                name=shown(first),
            )
    return reader.errors


def _check_field(reader: _LayoutReader, name: str, fmt: str, path: str, fields: Mapping[str, str]) -> None:
    base, _, part = name.partition(".")
    kind = fields.get(base)
    if kind is None:
        reader.error(path, N_("the form has no field '%(name)s'"), name=shown(base))
    elif part and kind != "region":
        reader.error(
            path, N_("'%(name)s' is not a region field; only a region field has a .%(part)s"), name=base, part=part
        )
    elif kind in UNPRINTABLE_TYPES:
        reader.error(path, N_("'%(name)s' is a %(type)s field, which a roster cannot print"), name=base, type=kind)
    elif fmt in NUMERIC_FORMATS and kind not in NUMERIC_TYPES:
        reader.error(
            path,
            N_("'%(name)s' is a %(type)s field; format %(format)s needs a number"),
            name=base,
            type=kind,
            format=fmt,
        )
    elif fmt in ("date", "long_date", "day_date") and kind not in DATE_TYPES:
        reader.error(
            path, N_("'%(name)s' is a %(type)s field; format %(format)s needs a date"), name=base, type=kind, format=fmt
        )


LAYOUTS = Path(__file__).resolve().parent / "layouts"


def load_layout(path: Path, fields: Mapping[str, str] | None = None, display: str | None = None) -> PrintLayout:
    """Read a layout file (YAML); raise DefinitionErrors, each problem with its line."""
    source = display or path.name
    document, errors = read_file(path, source)
    if errors:
        raise DefinitionErrors(errors)
    return parse_layout(document.data, source, document.lines, fields)


def shipped_layouts() -> dict[str, Path]:
    """The ready layouts shipped in layouts/, by name (the file's stem)."""
    return {path.stem: path for path in sorted(LAYOUTS.glob("*.yaml"))}


def shipped_layout(name: str, fields: Mapping[str, str] | None = None) -> PrintLayout:
    """One of the shipped layouts, by name: daftar_hadir_bimtek, penyaluran_bantuan, puskesos_kecamatan."""
    return load_layout(shipped_layouts()[name], fields, f"layouts/{name}.yaml")
