"""WTForms forms generated from a spec; validation is the engine's, shared with the API."""

from __future__ import annotations

from typing import Any

import wtforms
from flask import request
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import (
    BS3TextAreaFieldWidget,
    BS3TextFieldWidget,
    DateTimePickerWidget,
    Select2ManyWidget,
    Select2Widget,
)
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.widgets import FormWidget
from flask_babel import lazy_gettext
from markupsafe import Markup, escape
from werkzeug.datastructures import FileStorage

from app.access.personal import PERSONAL_TYPES, mask
from app.access.scope import scoped
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.messages import N_, Message
from app.forms_engine.record import input_fields, validate_values
from app.forms_engine.spec import FieldSpec, FormSpec
from app.uploads import save_upload
from app.views.labels import current_lang, lazy_text, render_message
from app.views.record_checks import check_for_user
from app.views.region_widget import RegionPickerWidget

CONFIRM_FIELD = "confirm_warnings"


def record_tables(models: dict[str, Any]) -> dict[str, Any]:
    """Tables the rules may query: every form's, and the region list."""
    from app.regions.importer import region_table

    return {slug: model.__table__ for slug, model in models.items()} | {"__regions__": region_table}


class UploadField(wtforms.FileField):
    """A file input; the stored key stays when no new file is sent."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        upload = request.files.get(self.name) if request else None
        self.data = upload if isinstance(upload, FileStorage) and upload.filename else None


def _choices(field: FieldSpec, blank: bool) -> Any:
    """Choices as a callable, so labels follow the reader's language on every render."""

    def build() -> list[tuple[str, str]]:
        items = [(c.value, c.label.get(current_lang())) for c in field.choices]
        return [("", "—"), *items] if blank else items

    return build


class DateWidget:
    """A text input for dd-mm-yyyy with bootstrap-datepicker (date-picker.js: Monday first, the
    page's language); the value is read by the engine, which also takes what clerks type."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        value = field._value() if hasattr(field, "_value") else (field.data or "")
        attrs = wtforms.widgets.html_params(
            type="text", value=value, placeholder="dd-mm-yyyy", autocomplete="off", maxlength=10, **kwargs
        )
        return Markup(
            '<div class="input-group date simpul-date" data-language="{}">'
            '<span class="input-group-addon"><i class="fa fa-calendar cursor-hand"></i></span>'
            '<input class="form-control" {}></div>'
        ).format(current_lang(), Markup(attrs))


class MarkRequired:
    """Marks a required field with FAB's red asterisk; the check itself is the engine's, with its
    Indonesian message (so no `required` attribute: the browser would refuse in its own words)."""

    field_flags = {"required": True}

    def __call__(self, form: Any, field: Any) -> None:
        return None


def wtforms_field(field: FieldSpec, models: dict[str, Any], session_factory: Any) -> wtforms.Field:
    """The input for one field (conversion and checks are left to the engine)."""
    kwargs: dict[str, Any] = {"label": lazy_text(field.label), "description": lazy_text(field.help)}
    if field.required:
        kwargs["validators"] = [MarkRequired()]
        kwargs["render_kw"] = {"required": False}
    if field.default is not None:
        kwargs["default"] = field.default
    if field.type == "longtext":
        return wtforms.TextAreaField(widget=BS3TextAreaFieldWidget(), **kwargs)
    if field.type == "date":
        return wtforms.StringField(widget=DateWidget(), **kwargs)
    if field.type == "datetime":
        return wtforms.StringField(widget=DateTimePickerWidget(), **kwargs)
    if field.type == "boolean":
        return wtforms.BooleanField(false_values=(False, "false", "", "0", "n"), **kwargs)
    if field.type == "choice":
        return wtforms.SelectField(
            choices=_choices(field, blank=True), validate_choice=False, widget=Select2Widget(), **kwargs
        )
    if field.type == "multichoice":
        return wtforms.SelectMultipleField(
            choices=_choices(field, blank=False), validate_choice=False, widget=Select2ManyWidget(), **kwargs
        )
    if field.type == "reference":
        target = models[field.target]  # type: ignore[index]
        return QuerySelectField(
            query_func=lambda: scoped(session_factory().query(target), target).order_by(target.id),
            get_pk_func=lambda item: item.id,
            allow_blank=True,
            blank_text="—",
            widget=Select2Widget(),
            **kwargs,
        )
    if field.type == "region":
        return wtforms.StringField(widget=RegionPickerWidget(field), **kwargs)
    if field.type in ("file", "photo"):
        kwargs["render_kw"] = {**kwargs.get("render_kw", {}), "accept": ",".join("." + e for e in field.accept)}
        return UploadField(**kwargs)
    return wtforms.StringField(widget=BS3TextFieldWidget(), **kwargs)


def _form_value(field: FieldSpec, data: Any) -> Any:
    if field.type == "reference":
        return getattr(data, "id", None)
    return data


class SpecForm(DynamicForm):
    """Base of generated forms: runs the engine's validation and stores clean values."""

    _spec: FormSpec
    _model: Any
    _tables: dict[str, Any]
    _specs: dict[str, FormSpec]
    _session_factory: Any
    _clean: dict[str, Any]
    _uploads: dict[str, FileStorage]

    def validate(self, extra_validators: Any = None) -> bool:
        """Field checks from WTForms, then the engine's rules and uniqueness."""
        valid = super().validate(extra_validators)
        spec = self._spec
        raw: dict[str, Any] = {}
        uploads: dict[str, FileStorage] = {}
        errors: dict[str, list[Message]] = {}
        existing_id = getattr(self, "_id", None)
        for f in input_fields(spec):
            if f.name == spec.state_field and existing_id is not None:  # not an input: kept as stored
                raw[f.name] = self._current_value(f, existing_id)
            if f.name not in self._fields:
                continue
            data = self[f.name].data
            if f.type in ("file", "photo"):
                if isinstance(data, FileStorage):  # its name's extension is checked by the engine
                    uploads[f.name] = data
                    raw[f.name] = data.filename
                else:
                    raw[f.name] = self._current_value(f, existing_id)
                continue
            raw[f.name] = _form_value(f, data)
            if f.type in PERSONAL_TYPES and existing_id is not None and data and "*" in str(data):
                stored = self._current_value(f, existing_id)
                if data == mask(stored):  # shown masked and left unchanged
                    raw[f.name] = stored
        clean, engine_errors = validate_values(spec, raw)
        for name, messages in engine_errors.items():
            errors.setdefault(name, []).extend(messages)
        warnings: dict[str, list[Message]] = {}
        if not errors:
            parent = self["parent"].data if "parent" in self._fields else None
            conflicts, warnings = check_for_user(
                self._session_factory(),
                spec,
                self._tables,
                self._specs,
                clean,
                existing_id,
                getattr(parent, "id", None),
            )
            errors.update(conflicts)
            if self[CONFIRM_FIELD].data:
                warnings = {}
        for name, messages in [*errors.items(), *warnings.items()]:
            field = self[name] if name in self._fields else self[CONFIRM_FIELD]
            prefix = "" if name in errors else render_message(Message(N_("Warning:"))) + " "
            # FAB renders errors through gettext, which Jinja marks safe: escape here,
            # since messages can quote what the user typed.
            field.errors = list(field.errors or []) + [escape(prefix + render_message(m)) for m in messages]
        if warnings:
            self[CONFIRM_FIELD].errors = list(self[CONFIRM_FIELD].errors or []) + [
                escape(render_message(Message(N_("Check the warnings above, then tick this box to save anyway."))))
            ]
        self._clean = clean
        self._uploads = uploads
        return valid and not errors and not warnings

    def _current_value(self, field: FieldSpec, existing_id: Any) -> Any:
        if existing_id is None:
            return None
        item = self._session_factory().get(self._model, existing_id)
        return getattr(item, column_name(field), None) if item is not None else None

    def populate_obj(self, obj: Any) -> None:
        """Write the engine-converted values (and new uploads) onto the record."""
        for f in input_fields(self._spec):
            if f.name not in self._clean:
                continue
            if f.type in ("file", "photo"):
                if f.name in self._uploads:
                    setattr(obj, f.name, save_upload(self._spec.slug, f, self._uploads[f.name]))
                continue
            setattr(obj, column_name(f), self._clean[f.name])
        if "parent" in self._fields and self["parent"].data is not None:
            obj.parent = self["parent"].data


class SpecFormWidget(FormWidget):
    """FAB's form, showing the "save despite warnings" box only once warnings are shown."""

    def __call__(self, **kwargs: Any) -> Any:
        args = {**self.template_args, **kwargs}
        form = args.get("form")
        if form is not None and CONFIRM_FIELD in form and not form[CONFIRM_FIELD].errors:
            args["include_cols"] = [c for c in args.get("include_cols", []) if c != CONFIRM_FIELD]
        return super().__call__(**args)


def build_form(spec: FormSpec, models: dict[str, Any], session_factory: Any) -> type[SpecForm]:
    """A form class with an input per live field (and the parent picker for child rows)."""
    attrs: dict[str, Any] = {
        "_spec": spec,
        "_model": models[spec.slug],
        "_tables": record_tables(models),
        "_specs": {slug: model.__spec__ for slug, model in models.items()},
        "_session_factory": staticmethod(session_factory),
        CONFIRM_FIELD: wtforms.BooleanField(
            label=lazy_gettext("Save despite warnings"),
            description=lazy_gettext("Tick only after checking the warnings shown for this record."),
        ),
    }
    for f in input_fields(spec):
        if f.name != spec.state_field:  # the workflow's steps change it, never this form
            attrs[f.name] = wtforms_field(f, models, session_factory)
    if spec.parent:
        parent = models[spec.parent]
        attrs["parent"] = QuerySelectField(
            label=lazy_text(None),
            query_func=lambda: scoped(session_factory().query(parent), parent).order_by(parent.id),
            get_pk_func=lambda item: item.id,
            widget=Select2Widget(),
            validators=[wtforms.validators.InputRequired(message=N_("is required"))],
        )
    return type(f"Form_{spec.slug}", (SpecForm,), attrs)
