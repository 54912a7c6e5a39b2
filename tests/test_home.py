"""The home page per role, on the shipped forms and demo data: the working area by name, counts
of the records in that area for the forms the user may read (as the list and API count them),
shortcuts to add, the user's own recent changes, and the login prompt for visitors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.access.audit import AuditEntry
from app.extensions import db
from app.office import utc_now
from tests.conftest import BACKENDS, add_user, login, shipped_app

USERS = {  # name: (role, working area)
    "kepala": ("Admin", None),
    "dinsos": ("Dinsos", None),
    "camat": ("Kecamatan", "63.09.01"),
    "desa": ("Operator Desa", "desa"),  # the desa of Banua Lawas with the most referrals
    "baru": ("Viewer", None),
}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The shipped forms and demo data, with one user per role."""
    with shipped_app(request, tmp_path_factory.mktemp("home")) as app:
        with app.app_context():
            busiest = db.session.execute(
                sa.text(
                    "SELECT region_code FROM form_rujukan WHERE region_code LIKE '63.09.01.%'"
                    " GROUP BY region_code ORDER BY count(*) DESC, region_code LIMIT 1"
                )
            ).scalar_one()
            db.session.rollback()
        for name, (role, area) in USERS.items():
            add_user(app, name, role, region_scope=busiest if area == "desa" else area)
        yield {"app": app, "desa": busiest}


def home(world: dict[str, Any], username: str | None) -> tuple[Any, str]:
    client = world["app"].test_client()
    if username:
        login(client, username)
    return client, client.get("/").get_data(as_text=True)


def counts(page: str) -> dict[str, int]:
    """Form slug -> the count the home page shows for it."""
    found = re.findall(r'<a href="/forms/([a-z_]+)/list/" class="badge">([\d.,]+)</a>', page)
    return {slug: int(re.sub(r"[.,]", "", shown)) for slug, shown in found}


def test_a_visitor_sees_the_login_prompt_and_nothing_else(world: dict[str, Any]) -> None:
    _client, page = home(world, None)
    assert 'id="home-login"' in page and 'href="/login/"' in page
    assert "home-counts" not in page and "/forms/" not in page


@pytest.mark.parametrize(
    ("username", "area"),
    [
        ("kepala", "Seluruh wilayah"),
        ("dinsos", "Kabupaten Tabalong"),
        ("camat", "Kecamatan Banua Lawas, Kabupaten Tabalong"),
        ("baru", "Belum ada wilayah kerja"),
    ],
)
def test_the_working_area_is_named(world: dict[str, Any], username: str, area: str) -> None:
    _client, page = home(world, username)
    assert re.search(r'id="home-area">.*<strong>' + re.escape(area), page), page[:3000]


def test_a_desa_operator_reads_their_desa_with_its_kecamatan(world: dict[str, Any]) -> None:
    with world["app"].app_context():
        names = world["app"].extensions["simpul_region_names"]
        desa = names.name(world["desa"])
    _client, page = home(world, "desa")
    assert f"<strong>Desa {desa}, Kecamatan Banua Lawas, Kabupaten Tabalong</strong>" in page


@pytest.mark.parametrize("username", ["kepala", "camat", "desa"])
def test_counts_are_those_of_the_users_area_for_the_forms_they_may_read(world: dict[str, Any], username: str) -> None:
    client, page = home(world, username)
    shown = counts(page)
    readable = {
        slug
        for slug in world["app"].extensions["simpul_specs"]
        if client.get(f"/api/v1/{slug}/_info").status_code == 200
    }
    assert set(shown) == readable - {"pengaturan_kantor"}  # the singleton settings are not a list to count
    for slug, count in shown.items():
        assert client.get(f"/api/v1/{slug}/", query_string={"q": "(page_size:1)"}).json["count"] == count, slug


def test_counts_follow_the_region_scope_and_permissions(world: dict[str, Any]) -> None:
    def in_area(prefix: str) -> int:
        with world["app"].app_context():
            query = "SELECT count(*) FROM form_rujukan WHERE region_code = :code OR region_code LIKE :inside"
            found = db.session.execute(sa.text(query), {"code": prefix, "inside": prefix + ".%"}).scalar_one()
            db.session.rollback()
        return found

    everything, kecamatan, desa = (counts(home(world, user)[1]) for user in ("kepala", "camat", "desa"))
    assert everything["rujukan"] == 50
    assert kecamatan["rujukan"] == in_area("63.09.01") < 50
    assert desa["rujukan"] == in_area(world["desa"]) < kecamatan["rujukan"]
    assert "bimtek_peserta" in kecamatan and "bimtek_peserta" not in desa  # Operator Desa may not read bimtek
    assert counts(home(world, "baru")[1])["rujukan"] == 0  # a Viewer without a working area sees nothing


def test_shortcuts_add_to_the_forms_the_user_may_add_to(world: dict[str, Any]) -> None:
    _client, page = home(world, "camat")
    shortcuts = page.split('class="panel-body simpul-home-shortcuts"', 1)[1].split("</div>", 1)[0]
    assert 'href="/forms/rujukan/add"' in shortcuts and "Tambah Registrasi &amp; Rujukan" in shortcuts
    assert 'href="/forms/bimtek_peserta/add"' in shortcuts
    assert 'href="/forms/bimtek/add"' not in shortcuts  # Kecamatan may only view events
    assert 'href="/forms/instansi/add"' not in shortcuts
    viewer = home(world, "baru")[1]
    assert 'id="home-shortcuts"' not in viewer  # a Viewer adds nothing: no panel


def test_recent_changes_are_the_users_own_in_forms_they_may_read(world: dict[str, Any]) -> None:
    app = world["app"]
    client = app.test_client()
    login(client, "desa")
    body = {
        "tanggal_registrasi": "2026-11-30",
        "nik": "6309014507900001",
        "nama": "Siti <b>Aminah</b>",
        "desa": world["desa"],
        "uraian": "Butuh bantuan sembako",
        "sumber": "datang_langsung",
    }
    added = client.post("/api/v1/rujukan/", json=body)
    assert added.status_code in (201, 422), added.json
    if added.status_code == 422:  # a warning (NIK region) to confirm
        added = client.post("/api/v1/rujukan/", json=body | {"confirm_warnings": True})
    pk = added.json["id"]
    assert client.put(f"/api/v1/rujukan/{pk}", json={"program_tujuan": "PKH"}).status_code == 200
    with app.app_context():
        me = app.appbuilder.sm.find_user("desa").id
        db.session.add(  # a change in a form Operator Desa may not (or no longer) read
            AuditEntry(
                at=utc_now(),
                user_id=me,
                username="desa",
                form="bimtek_peserta",
                record_id=1,
                action="update",
                changes={},
            )
        )
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    recent = page.split('id="home-recent"', 1)[1]
    rows = re.findall(r"<tr>\s*<td class=\"text-nowrap\">(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", recent)
    assert [(action, form) for _at, action, form in rows] == [
        ("Diubah", "Registrasi &amp; Rujukan"),
        ("Dibuat", "Registrasi &amp; Rujukan"),
    ]
    assert rows[0][0].endswith(" WITA")  # the office's time
    assert f'<a href="/forms/rujukan/show/{pk}">#{pk} Siti &lt;b&gt;Aminah&lt;/b&gt;</a>' in recent
    others = home(world, "camat")[1]
    assert f"/forms/rujukan/show/{pk}" not in others.split('id="home-recent"', 1)[1]  # not the clerk's own


def test_the_home_page_speaks_english_too(world: dict[str, Any]) -> None:
    client = world["app"].test_client()
    login(client, "camat")
    client.get("/lang/en")
    page = client.get("/").get_data(as_text=True)
    assert "Records in your area" in page and "Add Registration &amp; referral" in page
    assert "Kecamatan Banua Lawas, Kabupaten Tabalong" in page


def test_home_panels_are_a_registry_later_issues_add_to(world: dict[str, Any]) -> None:
    from app.views import home as home_module

    template_dir = Path(world["app"].root_path) / "templates" / "simpul" / "home"
    panel = home_module.HomePanel(
        "test_only",
        "Tugas saya",
        "simpul/home/recent.html",
        lambda user: [] if user.username == "camat" else None,  # shown to whom it concerns
        order=1,
    )
    home_module.register_panel(panel)
    try:
        assert (template_dir / "recent.html").exists()
        camat, others = home(world, "camat")[1], home(world, "desa")[1]
        assert 'id="home-test_only"' in camat and camat.index("home-test_only") < camat.index("home-shortcuts")
        assert 'id="home-test_only"' not in others
    finally:
        del home_module.PANELS["test_only"]
