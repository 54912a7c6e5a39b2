"""Publishing changes to forms with stored data, on SQLite and PostgreSQL: no value is lost."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.forms_engine.changes import ChangeRefused
from app.forms_engine.loader import DefinitionError, DefinitionErrors
from app.forms_engine.messages import Message
from app.forms_engine.publish import publish
from app.forms_engine.schema_lock import schema_change
from app.forms_engine.store import form_history, published_specs, published_versions
from tests.conftest import publish_yaml, rebuilt, spec_of

V1 = """
form: peserta
title: Peserta
fields:
  - {name: nama, type: text, label: Nama, required: true}
  - {name: umur, type: text, label: Umur}
  - {name: catatan, type: longtext, label: Catatan}
"""


def rows(app: Any, sql: str) -> list[tuple]:
    with app.app_context(), db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def insert(app: Any, *values: tuple[str, str, str]) -> None:
    with app.app_context(), db.engine.begin() as conn:
        for nama, umur, catatan in values:
            conn.execute(
                sa.text("INSERT INTO form_peserta (nama, umur, catatan) VALUES (:n, :u, :c)"),
                {"n": nama, "u": umur, "c": catatan},
            )


@pytest.fixture
def app(empty_app: Any) -> Any:
    publish_yaml(empty_app, V1)
    insert(empty_app, ("Siti", "41", "a"), ("Budi", "7", "b"))
    return empty_app


def columns(app: Any) -> list[str]:
    with app.app_context(), db.engine.connect() as conn:
        return [c["name"] for c in sa.inspect(conn).get_columns("form_peserta")]


def test_adding_a_field_adds_a_column(app: Any) -> None:
    publish_yaml(app, V1 + "  - {name: desa, type: region, level: desa, label: Desa}\n")
    assert "desa" in columns(app)
    assert rows(app, "SELECT nama, desa FROM form_peserta ORDER BY id") == [("Siti", None), ("Budi", None)]


def test_renaming_keeps_the_values_by_field_id(app: Any) -> None:
    publish_yaml(app, V1.replace("{name: nama,", "{name: nama_lengkap, id: nama,"))
    assert rows(app, "SELECT nama_lengkap FROM form_peserta ORDER BY id") == [("Siti",), ("Budi",)]
    assert "nama" not in columns(app)


def test_removing_a_field_retires_it_and_keeps_values(app: Any) -> None:
    publish_yaml(app, V1.replace("  - {name: catatan, type: longtext, label: Catatan}\n", ""))
    assert rows(app, "SELECT catatan FROM form_peserta ORDER BY id") == [("a",), ("b",)]
    with app.app_context(), db.engine.connect() as conn:
        spec = published_specs(conn)["peserta"]
    assert spec.field("catatan").retired
    assert "catatan" not in [f.name for f in spec.live_fields]


def test_a_retired_field_is_restored_with_its_values(app: Any) -> None:
    publish_yaml(app, V1.replace("  - {name: catatan, type: longtext, label: Catatan}\n", ""))
    publish_yaml(app, V1)
    with app.app_context(), db.engine.connect() as conn:
        assert not published_specs(conn)["peserta"].field("catatan").retired
    client = rebuilt(app).test_client()
    from tests.conftest import add_user, login

    add_user(app, "admin", "Admin")
    login(client)
    assert client.get("/api/v1/peserta/1").json["result"]["catatan"] == "a"


def test_a_new_field_may_not_take_a_retired_fields_name(app: Any) -> None:
    publish_yaml(app, V1.replace("  - {name: catatan, type: longtext, label: Catatan}\n", ""))
    with pytest.raises(DefinitionErrors, match="'catatan' is still used by field id 'catatan'"):
        publish_yaml(app, V1.replace("{name: catatan,", "{name: catatan, id: catatan2,"))


def test_type_change_converts_every_value(app: Any) -> None:
    publish_yaml(app, V1.replace("{name: umur, type: text", "{name: umur, type: integer"))
    assert rows(app, "SELECT umur FROM form_peserta ORDER BY id") == [(41,), (7,)]
    backups = [c for c in columns(app) if c.startswith("_old_umur")]
    assert rows(app, f"SELECT {backups[0]} FROM form_peserta ORDER BY id") == [("41",), ("7",)]


def test_type_change_that_would_lose_values_is_refused_with_the_rows(app: Any) -> None:
    insert(app, ("Ani", "tiga puluh", "c"))
    with pytest.raises(ChangeRefused) as refused:
        publish_yaml(app, V1.replace("{name: umur, type: text", "{name: umur, type: integer"))
    [problem] = refused.value.problems
    assert (problem.row_id, problem.value) == (3, "tiga puluh")
    assert "must be a whole number" in problem.render()
    # nothing changed: the text column and its values are as they were
    assert rows(app, "SELECT umur FROM form_peserta ORDER BY id") == [("41",), ("7",), ("tiga puluh",)]
    with app.app_context(), db.engine.connect() as conn:
        assert published_specs(conn)["peserta"].field("umur").type == "text"


def test_new_unique_rule_with_duplicates_is_refused(app: Any) -> None:
    insert(app, ("Siti", "50", "dup"))
    with pytest.raises(ChangeRefused, match="2 rows share this value"):
        publish_yaml(app, V1.replace("required: true}", "required: true, unique: true}"))


def test_shorter_max_length_is_checked_against_stored_values(app: Any) -> None:
    with pytest.raises(ChangeRefused, match="must be at most 3 characters"):
        publish_yaml(app, V1.replace("label: Nama, required: true}", "label: Nama, required: true, max_length: 3}"))


def test_rename_and_type_change_together(app: Any) -> None:
    publish_yaml(app, V1.replace("{name: umur, type: text", "{name: usia, id: umur, type: integer"))
    assert rows(app, "SELECT usia FROM form_peserta ORDER BY id") == [(41,), (7,)]


def test_every_version_is_kept_with_who_and_what(app: Any) -> None:
    publish_yaml(app, V1.replace("{name: nama,", "{name: nama_lengkap, id: nama,"), user="budi")
    with app.app_context(), db.engine.connect() as conn:
        history = form_history(conn, "peserta")
    assert [(h.version, h.published_by) for h in history] == [(1, "test"), (2, "budi")]
    assert "rename nama -> nama_lengkap" in history[1].changes


def test_invalid_definition_publishes_nothing(app: Any) -> None:
    bad = V1.replace("{name: umur, type: text", "{name: umur, type: reference, target: nowhere")
    with pytest.raises(DefinitionErrors):
        publish_yaml(app, bad)
    with app.app_context(), db.engine.connect() as conn:
        assert published_specs(conn)["peserta"].field("umur").type == "text"
        assert len(form_history(conn, "peserta")) == 1


def test_failed_publish_of_several_forms_changes_none(app: Any) -> None:
    other = "form: kegiatan\ntitle: Kegiatan\nfields: [{name: judul, type: text, label: Judul}]\n"
    insert(app, ("Ani", "x", "c"))
    with pytest.raises(ChangeRefused):
        publish_yaml(app, other, V1.replace("{name: umur, type: text", "{name: umur, type: integer"))
    with app.app_context(), db.engine.connect() as conn:
        assert "kegiatan" not in published_specs(conn)
        assert not sa.inspect(conn).has_table("form_kegiatan")


KUBE = """
form: kube
title: KUBE
fields:
  - {name: nama, type: text, label: Nama}
  - name: anggota
    type: child
    label: Anggota
    fields: [{name: nama, type: text, label: Nama}]
"""
KUBE_WITHOUT_MEMBERS = "form: kube\ntitle: KUBE\nfields: [{name: nama, type: text, label: Nama}]\n"


def test_retiring_a_child_table_keeps_its_rows_and_every_app_still_builds(empty_app: Any) -> None:
    publish_yaml(empty_app, KUBE)
    with empty_app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO form_kube (nama) VALUES ('Maju Jaya')"))
        conn.execute(sa.text("INSERT INTO form_kube__anggota (parent_id, nama) VALUES (1, 'Ani'), (1, 'Budi')"))
    publish_yaml(empty_app, KUBE_WITHOUT_MEMBERS)
    fresh = rebuilt(empty_app)  # every worker, CLI command and run.py builds this app
    assert fresh.test_client().get("/health").json["broken_forms"] == {}
    assert "FormApi_kube__anggota.get_list" not in fresh.view_functions
    assert rows(empty_app, "SELECT nama FROM form_kube__anggota ORDER BY id") == [("Ani",), ("Budi",)]
    publish_yaml(empty_app, KUBE)  # putting the field back brings its rows back
    from tests.conftest import add_user, login

    restored = rebuilt(empty_app)
    add_user(restored, "admin", "Admin")
    client = restored.test_client()
    login(client)
    members = client.get("/api/v1/kube/1").json["result"]["anggota"]
    assert [m["nama"] for m in members] == ["Ani", "Budi"]


def test_a_publish_prepared_before_another_one_got_in_is_refused(app: Any) -> None:
    with app.app_context(), db.engine.connect() as conn:
        based_on = published_versions(conn)  # what a second admin's publish read when it began
    publish_yaml(app, V1.replace("{name: nama,", "{name: nama_lengkap, id: nama,"), user="budi")
    stale = spec_of(V1.replace("label: Umur}", "label: Umur, unique: true}"), "forms/peserta.yaml")
    with app.app_context(), pytest.raises(DefinitionErrors) as refused, schema_change(db.engine) as conn:
        publish(conn, {"peserta": stale}, "siti", based_on=based_on)
    assert str(refused.value.errors[0]).startswith("forms/peserta.yaml: published as version 2 by budi at ") and str(
        refused.value.errors[0]
    ).endswith(
        "while this publish was being prepared from version 1; check the definition against it and publish again"
    )
    assert "nama_lengkap" in columns(app)  # the first publish's rename stands
    with app.app_context(), db.engine.connect() as conn:
        assert [h.version for h in form_history(conn, "peserta")] == [1, 2]


def test_a_publish_whose_app_would_not_build_changes_nothing(app: Any) -> None:
    seen: list[tuple[set[str], set[str], bool]] = []

    def refuse(specs: Any, changed: Any) -> None:
        seen.append((set(specs), set(changed), specs["peserta"].field("catatan").retired))
        raise DefinitionErrors([DefinitionError("forms/peserta.yaml", "", Message("the form cannot be served"))])

    smaller = V1.replace("  - {name: catatan, type: longtext, label: Catatan}\n", "")
    kegiatan = "form: kegiatan\ntitle: Kegiatan\nfields: [{name: judul, type: text, label: Judul}]\n"
    candidates = {s.slug: s for s in (spec_of(smaller), spec_of(kegiatan))}
    with app.app_context(), pytest.raises(DefinitionErrors), schema_change(db.engine) as conn:
        publish(conn, candidates, "test", verify=refuse)
    # The check saw every form that would be live, as it would be stored (the left-out field retired).
    assert seen == [({"peserta", "kegiatan"}, {"peserta", "kegiatan"}, True)]
    with app.app_context(), db.engine.connect() as conn:
        assert not sa.inspect(conn).has_table("form_kegiatan")
        assert not published_specs(conn)["peserta"].field("catatan").retired
        assert len(form_history(conn, "peserta")) == 1
