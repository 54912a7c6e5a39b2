"""The home page: the user's working area and a column of panels, each shown to whom it concerns.

A panel is a function that gathers its data for the signed-in user and a template that shows
it. Panels are registered here (later issues add "Tugas saya" for the workflow engine and
dashboards the same way: `register_panel(HomePanel(...))`); a panel whose function returns None
is not shown, so a panel decides for itself who may see it.

Everything a panel shows goes through the paths the screens use: counts through each form's
data interface (region scope applied), forms only where the user has the list's permission,
records only when the user may still see them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, url_for
from flask_appbuilder import IndexView, expose
from flask_babel import format_number, gettext, lazy_gettext

from app.access.audit import AuditEntry
from app.access.scope import NO_SCOPE, current_scope, visible
from app.extensions import db
from app.forms_engine.spec import FormSpec
from app.office import local_timestamp
from app.views.admin_logs import form_title
from app.views.generated import FormModelView, permission_view_name
from app.views.history_tab import action_label
from app.views.labels import current_lang
from app.views.menu import menu_order
from app.views.workflow_dashboard import TasksTitle, collect_tasks

RECENT_CHANGES = 10


@dataclass(frozen=True)
class HomePanel:
    """One panel of the home page: `collect(user)` gives its data, or None to leave it out."""

    name: str  # stable: the panel's element id is "home-<name>"
    title: Any  # lazy text
    template: str  # rendered with `panel` and `data` in its context
    collect: Callable[[Any], Any]
    order: int = 100  # smaller first
    width: int = 12  # Bootstrap columns on wide screens


PANELS: dict[str, HomePanel] = {}


def register_panel(panel: HomePanel) -> HomePanel:
    """Add (or replace, by name) a panel of the home page."""
    PANELS[panel.name] = panel
    return panel


@dataclass(frozen=True)
class ShownPanel:
    panel: HomePanel
    data: Any


def panels_for(user: Any) -> list[ShownPanel]:
    """The panels this user sees, in order, each with its data."""
    shown = []
    for panel in sorted(PANELS.values(), key=lambda p: (p.order, p.name)):
        data = panel.collect(user)
        if data is not None:
            shown.append(ShownPanel(panel, data))
    return shown


# -- what the panels share ----------------------------------------------------------------


def _forms() -> list[FormSpec]:
    """The served forms (not child tables) in menu order."""
    specs = {s: spec for s, spec in current_app.extensions.get("simpul_specs", {}).items() if not spec.parent}
    return [specs[slug] for slug in menu_order(specs)]


def may(action: str, spec: FormSpec) -> bool:
    """Whether the current user holds a form's permission (can_read, can_add, …), as its screens check."""
    return bool(current_app.appbuilder.sm.has_access(action, permission_view_name(spec)))


def _view_endpoint(slug: str) -> str:
    return f"FormView_{slug}"


def _form_views() -> dict[str, FormModelView]:
    """The registered list/show screens by form slug (their data interface applies the region scope)."""
    return {view.spec.slug: view for view in current_app.appbuilder.baseviews if isinstance(view, FormModelView)}


def _title(spec: FormSpec) -> str:
    return spec.title.get(current_lang())


def _category(spec: FormSpec) -> str:
    return spec.category.get(current_lang()) if spec.category else ""


# -- the working area ----------------------------------------------------------------------


def area_name(scope: str | None) -> str:
    """ "Kecamatan Banua Lawas, Kabupaten Tabalong": a working area named down to its district."""
    if scope is None:
        return gettext("All regions")
    if scope == NO_SCOPE:
        return gettext("No working area yet: ask an administrator")
    names = current_app.extensions["simpul_region_names"]
    parts = scope.split(".")
    named = []
    for depth in range(len(parts), 0, -1):
        code = ".".join(parts[:depth])
        name = names.name(code)
        if name is None:
            return scope if not named else ", ".join(named)
        named.append(_with_kind(code, name))
        if depth <= 2 and len(parts) > 1:  # a district names itself; its province goes without saying
            break
    return ", ".join(named)


def _with_kind(code: str, name: str) -> str:
    """A region's name with its kind, as offices write it (the list names districts with theirs)."""
    depth = code.count(".") + 1
    if depth == 1:
        return f"Provinsi {name}"
    if depth == 3:
        return f"Kecamatan {name}"
    if depth == 4:
        return f"{'Kelurahan' if code.rsplit('.', 1)[1].startswith('1') else 'Desa'} {name}"
    return name


# -- the panels ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shortcut:
    title: str
    url: str
    icon: str


def collect_shortcuts(user: Any) -> list[Shortcut] | None:
    """ "Tambah <form>" for every form the user may add to (not the office settings: one record)."""
    template = gettext("Add %(form)s")
    found = [
        Shortcut(template % {"form": _title(spec)}, url_for(f"{_view_endpoint(spec.slug)}.add"), spec.icon)
        for spec in _forms()
        if not spec.singleton and may("can_add", spec)
    ]
    return found or None


@dataclass(frozen=True)
class FormCount:
    category: str
    title: str
    url: str
    icon: str
    count: str  # as the reader writes numbers: 1.250 (id), 1,250 (en)


def collect_counts(user: Any) -> list[FormCount] | None:
    """How many records of each readable form lie in the user's area, each linking to its list."""
    views = _form_views()
    found = []
    for spec in _forms():
        view = views.get(spec.slug)
        if view is None or spec.singleton or not may("can_read", spec):
            continue
        found.append(
            FormCount(
                _category(spec),
                _title(spec),
                url_for(f"{_view_endpoint(spec.slug)}.list"),
                spec.icon,
                format_number(view.datamodel.count(None)),
            )
        )
    return found or None


@dataclass(frozen=True)
class RecentChange:
    at: str
    action: str
    form: str
    record: str
    url: str | None


def collect_recent(user: Any) -> list[RecentChange]:
    """The user's own latest changes (audit trail) in forms they may still read."""
    readable = {spec.slug for spec in _forms() if may("can_read", spec)}
    models = current_app.extensions.get("simpul_models", {})
    slugs = [slug for slug, model in models.items() if (model.__spec__.parent or slug) in readable]
    if not slugs or getattr(user, "id", None) is None:
        return []
    entries = db.session.execute(
        sa.select(AuditEntry)
        .where(AuditEntry.user_id == user.id, AuditEntry.form.in_(slugs))
        .order_by(AuditEntry.id.desc())
        .limit(RECENT_CHANGES)
    ).scalars()
    return [_recent(entry, models[entry.form]) for entry in entries]


def _recent(entry: AuditEntry, model: Any) -> RecentChange:
    found = visible(model, entry.record_id, db.session) if entry.action != "delete" else None
    title = str(found) if found is not None else ""
    record = (
        f"#{entry.record_id} {title}".strip() if title and title != f"#{entry.record_id}" else f"#{entry.record_id}"
    )
    url = None
    if found is not None and not model.__spec__.parent:
        url = url_for(f"{_view_endpoint(entry.form)}.show", pk=entry.record_id)
    return RecentChange(local_timestamp(entry.at), action_label(entry.action), form_title(entry.form), record, url)


register_panel(HomePanel("tasks", TasksTitle(), "simpul/workflow/tasks_panel.html", collect_tasks, order=10))
register_panel(
    HomePanel("shortcuts", lazy_gettext("Add new records"), "simpul/home/shortcuts.html", collect_shortcuts, order=20)
)
register_panel(
    HomePanel(
        "counts", lazy_gettext("Records in your area"), "simpul/home/counts.html", collect_counts, order=40, width=5
    )
)
register_panel(
    HomePanel(
        "recent", lazy_gettext("Your recent changes"), "simpul/home/recent.html", collect_recent, order=50, width=7
    )
)


class SimpulIndexView(IndexView):
    """The home page: the login prompt for visitors; the working area and panels for users."""

    index_template = "simpul/index.html"

    @expose("/")
    def index(self) -> Any:
        self.update_redirect()
        user = g.user if g.get("user") is not None and g.user.is_authenticated else None
        if user is None:
            return self.render_template(self.index_template, appbuilder=self.appbuilder, panels=[], area=None)
        return self.render_template(
            self.index_template,
            appbuilder=self.appbuilder,
            panels=panels_for(user),
            area=area_name(current_scope()),
            roles=", ".join(role.name for role in user.roles),
        )
