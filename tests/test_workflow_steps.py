"""Workflow steps on the record page and in the API, and the record's timeline (app/views/workflow_steps.py).

On the shipped forms and demo data: a Kecamatan user takes `verifikasi` on a referral of their
area; steps are refused outside the area (404), for a role the step does not name, for the
form's missing edit permission, with a required field left empty (named in Indonesian), without
the comment a step requires, without the screen's CSRF token; the state field stays out of the
edit screen; the timeline lists the step with its comment escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import BACKENDS, add_user, login, shipped_app
from tests.test_api_contract import documented

DESA = "63.09.01.2001"
KECAMATAN = DESA[:8]
USERS = {  # name: (role, working area)
    "desa1": ("Operator Desa", DESA),
    "camat": ("Kecamatan", KECAMATAN),
    "camat_lain": ("Kecamatan", "63.09.02"),
    "dinsos": ("Dinsos", None),
    "pembaca": ("Viewer", KECAMATAN),
    "kepala": ("Admin", None),
}
SCRIPT = '<script>alert("x")</script>'


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shipped_app(request, tmp_path_factory.mktemp("steps")) as app:
        for name, (role, area) in USERS.items():
            add_user(app, name, role, region_scope=area)
        yield app


def _client(app: Any, user: str) -> Any:
    client = app.test_client()
    login(client, user)
    client.get("/lang/id")
    return client


def _first_id(app: Any, table: str) -> int:
    with app.app_context():
        return db.session.execute(sa.text(f"SELECT min(id) FROM {table}")).scalar_one()


def _referral(app: Any, **extra: Any) -> int:
    """A new referral in DESA, registered by the desa's operator through the API (state terdaftar)."""
    body = {
        "tanggal_registrasi": "2026-03-02",
        "nik": "6309014507900001",
        "nama": "Siti Aminah",
        "desa": DESA,
        "uraian": "Butuh bantuan sembako",
        "sumber": "datang_langsung",
        **extra,
    }
    answer = _client(app, "desa1").post("/api/v1/rujukan/", json=body)
    assert answer.status_code == 201, answer.json
    assert answer.json["result"]["status"] == "terdaftar"
    return answer.json["id"]


def _state(app: Any, pk: int) -> str:
    with app.app_context():
        return db.session.execute(sa.text("SELECT status FROM form_rujukan WHERE id = :id"), {"id": pk}).scalar_one()


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def test_a_kecamatan_user_verifies_a_referral_of_their_area_and_sees_it_on_the_timeline(app: Any) -> None:
    pk = _referral(app)
    camat = _client(app, "camat")
    page = _text(camat.get(f"/forms/rujukan/show/{pk}"))
    assert "simpul-state-open" in page and "Terdaftar" in page
    assert 'data-step="verifikasi"' in page and 'data-step="tolak"' in page
    assert 'data-step="rujuk"' not in page  # not from terdaftar
    kategori = _first_id(app, "form_kategori_pmks")
    answer = camat.post(
        f"/forms/rujukan/step/{pk}/verifikasi",
        data={"step-verifikasi-kategori_pmks": str(kategori), "step-verifikasi-comment": f"Sudah dicek {SCRIPT}"},
    )
    assert answer.status_code == 302 and answer.location.endswith(f"/forms/rujukan/show/{pk}"), _text(answer)[:500]
    assert _state(app, pk) == "diverifikasi"
    page = _text(camat.get(answer.location))
    assert "Langkah &#39;Verifikasi&#39; dicatat" in page or "Langkah 'Verifikasi' dicatat" in page
    assert "simpul-state-open" in page and "Diverifikasi" in page
    timeline = page.split('id="Linimasa"', 1)[1].split('id="Riwayat"', 1)[0]
    assert "Langkah &#39;Verifikasi&#39;: Terdaftar → Diverifikasi" in timeline
    assert "Sudah dicek &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in timeline
    assert SCRIPT not in page
    assert "camat" in timeline
    # the API's timeline: newest first, the comment as written
    events = camat.get(f"/api/v1/rujukan/{pk}/timeline").json["events"]
    assert [e["kind"] for e in events] == ["transition", "created"]
    assert events[0]["comment"] == f"Sudah dicek {SCRIPT}" and events[0]["username"] == "camat"


def test_a_record_outside_the_users_area_is_not_found(app: Any) -> None:
    pk = _referral(app)
    other = _client(app, "camat_lain")
    assert other.get(f"/forms/rujukan/show/{pk}").status_code == 404
    kategori = _first_id(app, "form_kategori_pmks")
    answer = other.post(f"/forms/rujukan/step/{pk}/verifikasi", data={"step-verifikasi-kategori_pmks": str(kategori)})
    assert answer.status_code == 404
    api = other.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json={"values": {"kategori_pmks": kategori}})
    assert api.status_code == 404 and "message" in api.json
    assert other.get(f"/api/v1/rujukan/{pk}/timeline").status_code == 404
    assert _state(app, pk) == "terdaftar"


def test_a_step_the_role_may_not_take_is_refused(app: Any) -> None:
    pk = _referral(app, alasan_penolakan="Tidak memenuhi syarat")
    desa = _client(app, "desa1")
    page = _text(desa.get(f"/forms/rujukan/show/{pk}"))
    assert 'data-step="verifikasi"' in page and 'data-step="tolak"' not in page  # Kecamatan and Dinsos only
    answer = desa.post(f"/forms/rujukan/step/{pk}/tolak", data={"step-tolak-alasan_penolakan": "x"})
    assert answer.status_code == 302 and answer.location.endswith(f"/forms/rujukan/show/{pk}")
    assert "&#39;Tolak&#39; hanya boleh dilakukan oleh Kecamatan, Dinsos" in _text(desa.get(answer.location))
    api = desa.post(f"/api/v1/rujukan/{pk}/step/tolak", json={"values": {"alasan_penolakan": "x"}})
    assert api.status_code == 403 and "hanya boleh dilakukan oleh" in api.json["message"], api.json
    # without the form's edit permission: no buttons, and FAB refuses the route
    reader = _client(app, "pembaca")
    page = _text(reader.get(f"/forms/rujukan/show/{pk}"))
    assert "simpul-state-open" in page and "simpul-step-button" not in page
    assert reader.post(f"/forms/rujukan/step/{pk}/verifikasi", data={}).status_code == 403
    assert reader.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json={}).status_code == 403
    assert reader.get(f"/api/v1/rujukan/{pk}/timeline").status_code == 200
    # an unknown step
    assert desa.post(f"/forms/rujukan/step/{pk}/terbang", data={}).status_code == 404
    assert desa.post(f"/api/v1/rujukan/{pk}/step/terbang", json={}).status_code == 404
    assert _state(app, pk) == "terdaftar"


def test_a_required_field_left_empty_is_named_in_indonesian_and_what_was_typed_is_kept(app: Any) -> None:
    pk = _referral(app)
    camat = _client(app, "camat")
    answer = camat.post(
        f"/forms/rujukan/step/{pk}/verifikasi",
        data={"step-verifikasi-kategori_pmks": "", "step-verifikasi-comment": "Komentar saya"},
    )
    page = _text(answer)
    assert answer.status_code == 200
    assert "Kategori kebutuhan/PMKS harus diisi sebelum &#39;Verifikasi&#39;" in page
    assert re.search(r'id="simpul-step-verifikasi" class="collapse simpul-step in"', page)  # the form stays open
    assert re.search(r">\s*Komentar saya</textarea>", page)
    assert _state(app, pk) == "terdaftar"
    api = camat.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json={"comment": "x", "values": {}})
    assert api.status_code == 422
    assert api.json["errors"] == {"kategori_pmks": ["Kategori kebutuhan/PMKS harus diisi sebelum 'Verifikasi'"]}
    bad = camat.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json={"values": {"kategori_pmks": 99999999}})
    assert bad.status_code == 422 and "kategori_pmks" in bad.json["errors"], bad.json
    asked = camat.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json={"values": {"nama": "Lain"}})
    assert asked.status_code == 422 and "nama" in asked.json["errors"], asked.json


def test_a_step_that_needs_a_comment_is_refused_without_one(app: Any) -> None:
    pk = _referral(app)
    desa = _client(app, "desa1")
    answer = desa.post(f"/forms/rujukan/step/{pk}/tidak_terhubungi", data={"step-tidak_terhubungi-comment": "  "})
    assert "memerlukan catatan alasannya" in _text(answer)
    api = desa.post(f"/api/v1/rujukan/{pk}/step/tidak_terhubungi", json={"comment": None})
    assert api.status_code == 422 and list(api.json["errors"]) == ["comment"], api.json
    assert _state(app, pk) == "terdaftar"
    # a NUL no database stores (PostgreSQL refuses it: a 500 before) is named, on screen and API
    nul = desa.post(f"/api/v1/rujukan/{pk}/step/tidak_terhubungi", json={"comment": "Tiga\x00 kali"})
    assert nul.status_code == 422 and "U+0000" in nul.json["errors"]["comment"][0], nul.json
    answer = desa.post(f"/forms/rujukan/step/{pk}/tidak_terhubungi", data={"step-tidak_terhubungi-comment": "a\x1bb"})
    assert "U+001B" in _text(answer)
    assert _state(app, pk) == "terdaftar"
    taken = desa.post(f"/api/v1/rujukan/{pk}/step/tidak_terhubungi", json={"comment": "Tiga kali ditelepon"})
    assert taken.status_code == 200, taken.json
    assert taken.json["state"]["name"] == "selesai" and taken.json["state"]["kind"] == "terminal"
    assert taken.json["result"]["hasil"] == "tidak_dapat_dihubungi"
    # nothing leaves a terminal state: a conflict
    again = desa.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json={"values": {"kategori_pmks": 1}})
    assert again.status_code == 409, again.json


def test_the_api_refuses_a_body_that_is_not_a_step(app: Any) -> None:
    pk = _referral(app)
    camat = _client(app, "camat")
    for body in ([], {"comment": 3}, {"values": [1]}, {"other": 1}):
        answer = camat.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json=body)
        assert answer.status_code == 400, (body, answer.json)
    not_json = camat.post(f"/api/v1/rujukan/{pk}/step/verifikasi", data="x", content_type="text/plain")
    assert not_json.status_code == 400


def test_the_screens_step_needs_the_csrf_token(app: Any) -> None:
    pk = _referral(app)
    camat = _client(app, "camat")
    kategori = _first_id(app, "form_kategori_pmks")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = camat.post(f"/forms/rujukan/step/{pk}/verifikasi", data={"step-verifikasi-kategori_pmks": kategori})
        assert refused.status_code == 303
        assert _state(app, pk) == "terdaftar"
        page = _text(camat.get(f"/forms/rujukan/show/{pk}"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        taken = camat.post(
            f"/forms/rujukan/step/{pk}/verifikasi",
            data={"csrf_token": token, "step-verifikasi-kategori_pmks": kategori},
        )
        assert taken.status_code == 302
        assert _state(app, pk) == "diverifikasi"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_state_field_is_still_not_editable(app: Any) -> None:
    pk = _referral(app)
    camat = _client(app, "camat")
    edit = _text(camat.get(f"/forms/rujukan/edit/{pk}"))
    assert 'name="status"' not in edit
    put = camat.put(f"/api/v1/rujukan/{pk}", json={"status": "selesai"})
    assert put.status_code == 422
    assert _state(app, pk) == "terdaftar"


def test_a_referral_walks_to_the_end_through_the_api_and_its_timeline_grows(app: Any) -> None:
    pk = _referral(app, kategori_pmks=_first_id(app, "form_kategori_pmks"))
    instansi = _first_id(app, "form_instansi")
    camat, dinsos = _client(app, "camat"), _client(app, "dinsos")
    steps = [
        (camat, "verifikasi", {}),
        (camat, "rujuk", {"dirujuk_ke": instansi, "program_tujuan": "PKH", "tanggal_rujukan": "05-03-2026"}),
        (dinsos, "tangani", {}),
        (dinsos, "pantau", {}),
        (dinsos, "selesaikan", {}),
    ]
    for number, (client, name, values) in enumerate(steps, start=1):
        answer = client.post(
            f"/api/v1/rujukan/{pk}/step/{name}", json={"comment": f"langkah {number}", "values": values}
        )
        assert answer.status_code == 200, (name, answer.json)
        timeline = client.get(f"/api/v1/rujukan/{pk}/timeline").json
        assert len(timeline["events"]) == number + 1 and len(timeline["stays"]) == number + 1
        assert timeline["events"][0]["comment"] == f"langkah {number}"
        assert timeline["stays"][1]["left_at"] is not None and timeline["stays"][0]["left_at"] is None
    assert timeline["state"]["name"] == "selesai" and answer.json["result"]["hasil"] == "tertangani"
    assert answer.json["result"]["tanggal_rujukan"] == "2026-03-05"


def test_the_step_and_the_timeline_answer_as_the_openapi_spec_documents(app: Any) -> None:
    admin = _client(app, "kepala")
    spec = admin.get("/api/v1/_openapi").json
    step, timeline = "/api/v1/rujukan/{pk}/step/{name}", "/api/v1/rujukan/{pk}/timeline"
    assert set(spec["paths"][step]["post"]["responses"]) >= {"200", "400", "401", "403", "404", "409", "413", "422"}
    assert "/api/v1/puskesos/{pk}/timeline" not in spec["paths"]  # forms without a workflow have neither
    pk = _referral(app)
    camat = _client(app, "camat")
    documented(spec, step, "post", camat.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json={}))  # 422
    documented(spec, step, "post", camat.post(f"/api/v1/rujukan/{pk}/step/rujuk", json={}))  # 409
    documented(spec, step, "post", camat.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json=[]))  # 400
    # Admin takes only the steps a workflow names Admin for: rujukan names none
    by_admin = admin.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json={})
    assert by_admin.status_code == 403
    documented(spec, step, "post", by_admin)
    kategori = _first_id(app, "form_kategori_pmks")
    taken = camat.post(f"/api/v1/rujukan/{pk}/step/verifikasi", json={"values": {"kategori_pmks": kategori}})
    assert taken.status_code == 200
    documented(spec, step, "post", taken)
    documented(spec, timeline, "get", camat.get(f"/api/v1/rujukan/{pk}/timeline"))
    documented(spec, timeline, "get", camat.get("/api/v1/rujukan/99999999/timeline"))  # 404
