"""The holiday calendar (simpul_holiday) for admins: `/keamanan/hari-libur/`, under Keamanan.

Deadlines count working days, so every day off matters: the list shows one year at a time
(national holidays and cuti bersama seeded from the `holidays` package, an admin's own days,
local holidays); an admin adds or corrects a day with its decree, switches off a seeded day
that a decree moved (rows are never deleted: a seeded day without its row would come back with
the next seed), and fills a year from the national calendar. Every change recomputes the open
stays' deadlines (holidays.recompute_due) in the same transaction and says how many moved.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import format_date, format_number, gettext, lazy_gettext

from app.extensions import db
from app.forms_engine.text import unstorable
from app.office import office_district
from app.views.workflow_dashboard import guarded
from app.workflows.calendar import CUTI_BERSAMA, HOLIDAY_KINDS, LOCAL, NATIONAL
from app.workflows.holidays import office_calendar, recompute_due, seed
from app.workflows.models import Holiday

HOLIDAYS_VIEW = "Holidays"  # its permission name (Admin only: no role is given it)
FIRST_YEAR, LAST_YEAR = 2000, 2100
NAME_LENGTH = DECREE_LENGTH = 200

KIND_LABELS = {
    NATIONAL: lazy_gettext("National holiday"),
    CUTI_BERSAMA: lazy_gettext("Cuti bersama"),
    LOCAL: lazy_gettext("Local holiday"),
}
SOURCE_LABELS = {"seed": lazy_gettext("National calendar"), "admin": lazy_gettext("Administrator")}


def _now() -> datetime:
    return datetime.now(UTC)


def _year_of(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text.isdigit() or len(text) != 4:
        return None
    year = int(text)
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


def _parse_day(text: str) -> date | None:
    """yyyy-mm-dd (the date input) or dd-mm-yyyy (as clerks write it)."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _recompute() -> int:
    """Deadlines again with the table as it now stands (same transaction); how many open stays moved."""
    conn = db.session.connection()
    specs = current_app.extensions.get("simpul_specs", {})
    return recompute_due(conn, office_calendar(conn), _now(), specs=specs).stays


def _stamp(row: Holiday) -> None:
    row.changed_on = _now().replace(tzinfo=None)
    row.changed_by = getattr(g.get("user"), "username", None)


class HolidayInput:
    """The add/edit form's values and their problems, in the reader's language."""

    def __init__(self, form: Any, existing: Holiday | None) -> None:
        self.existing = existing
        self.values = {k: (form.get(k) or "").strip() for k in ("day", "name", "kind", "region_code", "decree")}
        self.values["active"] = "1" if form.get("active") else ""
        self.errors: dict[str, str] = {}
        self.day = _parse_day(self.values["day"])
        self._check()

    def _check(self) -> None:
        v, errors = self.values, self.errors
        if not v["day"]:
            errors["day"] = gettext("Enter the day.")
        elif self.day is None:
            errors["day"] = gettext("Enter the day as dd-mm-yyyy.")
        elif not FIRST_YEAR <= self.day.year <= LAST_YEAR:
            errors["day"] = gettext(
                "The day must lie between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR
            )
        if not v["name"]:
            errors["name"] = gettext("Enter the holiday's name.")
        elif len(v["name"]) > NAME_LENGTH:
            errors["name"] = gettext("At most %(num)s characters.", num=NAME_LENGTH)
        elif problem := unstorable(v["name"]):
            errors["name"] = problem.render(gettext)
        if v["kind"] not in HOLIDAY_KINDS:
            errors["kind"] = gettext("Choose the kind of holiday.")
        if len(v["decree"]) > DECREE_LENGTH:
            errors["decree"] = gettext("At most %(num)s characters.", num=DECREE_LENGTH)
        elif problem := unstorable(v["decree"]):
            errors["decree"] = problem.render(gettext)
        self._check_region()
        self._check_seeded()
        if not errors:
            self._check_duplicate()

    def _check_region(self) -> None:
        code = self.values["region_code"].rstrip(".")
        self.values["region_code"] = code
        if not code:
            return
        if self.values["kind"] != LOCAL:
            self.errors["region_code"] = gettext("Only a local holiday has a region.")
            return
        district = office_district()
        names = current_app.extensions["simpul_region_names"]
        if names.name(code) is None:
            self.errors["region_code"] = gettext("%(code)s is not in the region list.", code=code)
        elif not (district == code or district.startswith(code + ".")):
            self.errors["region_code"] = gettext(
                "A local holiday counts for this office only in its district (%(district)s) or its province;"
                " leave it empty for the office's own district.",
                district=district,
            )

    def _check_seeded(self) -> None:
        row = self.existing
        if row is None or row.source != "seed" or self.day is None:
            return
        if self.day != row.day or self.values["kind"] != row.kind:
            self.errors["day"] = gettext(
                "A day from the national calendar cannot be moved: switch it off (with the decree)"
                " and add the new day, or the next fill from the calendar would bring it back."
            )

    def _check_duplicate(self) -> None:
        if not self.values["active"]:
            return
        query = sa.select(Holiday).where(
            Holiday.day == self.day,
            Holiday.kind == self.values["kind"],
            Holiday.active.is_(True),
            sa.func.coalesce(Holiday.region_code, "") == self.values["region_code"],
        )
        if self.existing is not None:
            query = query.where(Holiday.id != self.existing.id)
        other = db.session.execute(query.limit(1)).scalar_one_or_none()
        if other is not None:
            self.errors["day"] = gettext(
                "%(day)s already has an active holiday of this kind: %(name)s. Change that one instead.",
                day=self.day.strftime("%d-%m-%Y"),  # type: ignore[union-attr]
                name=other.name,
            )

    def apply(self, row: Holiday) -> None:
        v = self.values
        row.day = self.day  # type: ignore[assignment]
        row.name = v["name"]
        row.kind = v["kind"]
        row.region_code = v["region_code"] or None
        row.decree = v["decree"] or None
        row.active = bool(v["active"])
        _stamp(row)


class HolidaysView(BaseView):
    """The year's holidays; add, correct, switch off and on, fill from the national calendar."""

    route_base = "/keamanan/hari-libur"
    default_view = "list"
    class_permission_name = HOLIDAYS_VIEW
    base_permissions = ["can_read", "can_edit"]
    title = lazy_gettext("Holidays")

    @expose("/")
    @guarded("can_read", HOLIDAYS_VIEW)
    def list(self) -> Any:
        this_year = _now().year
        year = _year_of(request.args.get("tahun")) or this_year
        rows = (
            db.session.execute(
                sa.select(Holiday)
                .where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
                .order_by(Holiday.day, Holiday.kind, Holiday.id)
            )
            .scalars()
            .all()
        )
        stored = {
            int(y)
            for y in db.session.execute(sa.select(sa.func.distinct(sa.extract("year", Holiday.day)))).scalars()
            if y is not None
        }
        years = sorted(stored | {this_year, this_year + 1, year})
        working = sum(1 for r in rows if r.active and r.day.weekday() < 5)
        db.session.rollback()
        return self.render_template(
            "simpul/workflow/holidays_list.html",
            title=gettext("Holidays"),
            rows=[self._shown(r) for r in rows],
            year=year,
            years=years,
            working=working,
            can_edit=self.appbuilder.sm.has_access("can_edit", HOLIDAYS_VIEW),
        )

    def _shown(self, row: Holiday) -> dict[str, Any]:
        names = current_app.extensions["simpul_region_names"]
        return {
            "id": row.id,
            "day": row.day.strftime("%d-%m-%Y"),
            "weekday": format_date(row.day, "EEEE"),
            "weekend": row.day.weekday() >= 5,
            "name": row.name,
            "kind": str(KIND_LABELS.get(row.kind, row.kind)),
            "region": names.label(row.region_code) if row.region_code else "",
            "decree": row.decree or "",
            "source": str(SOURCE_LABELS.get(row.source, row.source)),
            "seeded": row.source == "seed",
            "active": bool(row.active),
        }

    def _form(self, holiday: HolidayInput | None, row: Holiday | None, year: int) -> Any:
        values = (
            holiday.values
            if holiday is not None
            else {
                "day": row.day.isoformat() if row else "",
                "name": row.name if row else "",
                "kind": row.kind if row else NATIONAL,
                "region_code": (row.region_code or "") if row else "",
                "decree": (row.decree or "") if row else "",
                "active": "1" if row is None or row.active else "",
            }
        )
        return self.render_template(
            "simpul/workflow/holidays_form.html",
            title=gettext("Change holiday") if row else gettext("Add holiday"),
            values=values,
            errors=holiday.errors if holiday else {},
            kinds=[(k, str(label)) for k, label in KIND_LABELS.items()],
            row=row,
            seeded=row is not None and row.source == "seed",
            year=year,
            district=office_district(),
        )

    @expose("/tambah", methods=["GET", "POST"])
    @guarded("can_edit", HOLIDAYS_VIEW)
    def add(self) -> Any:
        year = _year_of(request.args.get("tahun")) or _now().year
        if request.method != "POST":
            return self._form(None, None, year)
        holiday = HolidayInput(request.form, None)
        if holiday.errors:
            db.session.rollback()
            return self._form(holiday, None, year), 422
        row = Holiday(source="admin")
        holiday.apply(row)
        db.session.add(row)
        db.session.flush()
        moved = _recompute()
        db.session.commit()
        flash(gettext("Holiday saved; deadlines moved: %(num)s.", num=format_number(moved)), "success")
        return redirect(url_for(".list", tahun=row.day.year))

    @expose("/<int:pk>/ubah", methods=["GET", "POST"])
    @guarded("can_edit", HOLIDAYS_VIEW)
    def edit(self, pk: int) -> Any:
        row = db.session.get(Holiday, pk)
        if row is None:
            return redirect(url_for(".list"))
        if request.method != "POST":
            return self._form(None, row, row.day.year)
        holiday = HolidayInput(request.form, row)
        if holiday.errors:
            db.session.rollback()
            row = db.session.get(Holiday, pk)
            return self._form(holiday, row, row.day.year if row else _now().year), 422
        holiday.apply(row)
        db.session.flush()
        moved = _recompute()
        db.session.commit()
        flash(gettext("Holiday saved; deadlines moved: %(num)s.", num=format_number(moved)), "success")
        return redirect(url_for(".list", tahun=row.day.year))

    @expose("/<int:pk>/aktif", methods=["POST"])
    @guarded("can_edit", HOLIDAYS_VIEW)
    def switch(self, pk: int) -> Any:
        """Switch a day off (a decree moved it) or on again; the row stays, so a seed never brings it back."""
        row = db.session.get(Holiday, pk)
        if row is None:
            return redirect(url_for(".list"))
        row.active = request.form.get("active") == "1"
        _stamp(row)
        db.session.flush()
        moved = _recompute()
        db.session.commit()
        message = (
            gettext(
                "%(name)s on %(day)s counts as a day off again; deadlines moved: %(num)s.",
                num=format_number(moved),
                name=row.name,
                day=row.day.strftime("%d-%m-%Y"),
            )
            if row.active
            else gettext(
                "%(name)s on %(day)s is switched off (a working day); deadlines moved: %(num)s.",
                num=format_number(moved),
                name=row.name,
                day=row.day.strftime("%d-%m-%Y"),
            )
        )
        flash(message, "success")
        return redirect(url_for(".list", tahun=row.day.year))

    @expose("/isi", methods=["POST"])
    @guarded("can_edit", HOLIDAYS_VIEW)
    def fill(self) -> Any:
        """National holidays and cuti bersama of a year from the `holidays` package (days already there are kept)."""
        year = _year_of(request.form.get("tahun"))
        if year is None:
            flash(gettext("Enter a year from %(first)s to %(last)s.", first=FIRST_YEAR, last=LAST_YEAR), "danger")
            return redirect(url_for(".list"))
        done = seed(db.session.connection(), [year], now=_now())
        moved = _recompute()
        db.session.commit()
        flash(
            gettext(
                "Holidays of %(year)s from the national calendar: %(added)s added, %(kept)s already there;"
                " deadlines moved: %(num)s.",
                year=year,
                added=format_number(done.added),
                kept=format_number(done.kept),
                num=format_number(moved),
            ),
            "success",
        )
        return redirect(url_for(".list", tahun=year))


def register_holidays_admin(appbuilder: Any) -> None:
    """The holiday screen under Keamanan (Admin only)."""
    appbuilder.add_view(
        HolidaysView, "menu_hari_libur", label=lazy_gettext("Holidays"), icon="fa-calendar", category="Security"
    )
