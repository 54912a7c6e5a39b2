"""A clerk's walk in Chromium, on the demo data, as Admin and as a Kecamatan user, in Indonesian and
in English: home, a list filtered by a region picked by name and by a choice, an add page refused
with errors, an edit that returns to the filtered list, a record page with related tabs and its
change history, the attendance grid, the logs and a missing page.

Every page is read as a person reads it: a word of the other language fails the walk (the
vocabulary of tests/test_rendered_language.py), and so does a timestamp shown in any zone but the
office's (the demo office is in Tabalong: WITA). Screenshots go to tests/artifacts/walk/.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.browser.conftest import open_filters, shot, sign_in
from tests.conftest import add_user, shipped_app
from tests.test_rendered_language import seen_texts, wrong_language

OFFICE_ZONE, OFFICE_OFFSET = "WITA", timedelta(hours=8)
TIMESTAMP = re.compile(r"\b(\d{2})-(\d{2})-(\d{4}),? (\d{2}):(\d{2})(?::\d{2})?(?: (WIB|WITA|WIT|UTC|GMT))?")
USERS = {"kepala": "Admin", "camat": "Kecamatan"}


@pytest.fixture(scope="module", params=["sqlite"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The run command's demo data; the Kecamatan user works in the kecamatan with most referrals."""
    with shipped_app(request, tmp_path_factory.mktemp("walk")) as app:
        app.config["WTF_CSRF_ENABLED"] = True
        with app.app_context():
            villages = db.session.execute(sa.text("SELECT desa FROM form_rujukan")).scalars().all()
            db.session.rollback()
        busiest = Counter(v[:8] for v in villages).most_common(1)[0][0]
        for name, role in USERS.items():
            add_user(app, name, role, region_scope=busiest if role == "Kecamatan" else None)
        yield app


class Walk:
    """One user's pages: each visit checked for language and time zone, and photographed."""

    def __init__(self, page: Any, user: str, lang: str) -> None:
        self.page, self.user, self.lang = page, user, lang
        self.problems: list[str] = []
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))

    def check(self, step: str) -> str:
        """Read the page as shown now; note every wrong-language string and foreign-zone timestamp."""
        html = self.page.content()
        for text in wrong_language(seen_texts(html), self.lang):
            self.problems.append(f"{step} ({self.page.url}): {self.lang} page shows {text!r}")
        visible = self.page.inner_text("body")
        for match in TIMESTAMP.finditer(visible):
            if match.group(6) and match.group(6) != OFFICE_ZONE:
                self.problems.append(f"{step} ({self.page.url}): timestamp {match.group(0)!r} not in {OFFICE_ZONE}")
        shot(self.page, f"walk/{self.user}-{self.lang}-{step}")
        return visible

    def go(self, path: str, step: str) -> str:
        self.page.goto(self.page.base + path)
        return self.check(step)


def _local_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + OFFICE_OFFSET


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("user", list(USERS))
def test_a_clerks_walk_in_one_language_and_the_offices_time(page: Any, user: str, lang: str) -> None:
    sign_in(page, user, lang)
    walk = Walk(page, user, lang)

    home = walk.go("/", "home")
    assert ("Seluruh wilayah" if lang == "id" else "All regions") in home or user != "kepala"
    assert "Banua Lawas" in home or "Kecamatan" in home or user == "kepala"

    # a list filtered by a region picked by name, then by a choice: both shown as readable chips
    page.goto(page.base + "/forms/penerima_bantuan/list/")
    open_filters(page)
    region = ".simpul-filter-field[data-column='desa']"
    # a locator, not wait_for_function: a polled string predicate is eval'd, which the CSP refuses
    page.locator(f"{region} select:visible >> option").nth(1).wait_for(state="attached")
    picked = page.evaluate(
        f"""() => {{
            const selects = [...document.querySelectorAll("{region} select")].filter(s => s.options.length > 1 && s.offsetParent);
            const select = selects[selects.length - 1];
            select.selectedIndex = 1;
            select.dispatchEvent(new Event("change", {{bubbles: true}}));
            return select.options[1].text;
        }}"""
    )
    status = ".simpul-filter-field[data-column='status_penyaluran'] select"
    label = page.evaluate(f'() => document.querySelector("{status}").options[2].text')
    page.select_option(status, label=label)
    with page.expect_navigation():
        page.click("#simpul-filter-fields button[type=submit]")
    walk.check("list-filtered")
    chips = [" ".join(c.split()) for c in page.locator(".simpul-chip").all_inner_texts()]
    assert len(chips) == 2 and picked.split(",")[0].replace("Kec. ", "") in chips[0] and label in chips[1], chips
    assert not re.search(r"\d{2}\.\d{2}", chips[0])  # the region by its name, not its code

    # an add page refused with errors, in the reader's language
    page.goto(page.base + "/forms/rujukan/add")
    with page.expect_navigation():
        page.click("form#model_form [type=submit], form [type=submit].btn-primary >> nth=0")
    walk.check("add-refused")
    assert page.locator(".has-error, .alert-danger").count() > 0
    assert "/forms/rujukan/add" in page.url

    # an edit from a filtered list returns to that list, and the change is in the record's history
    kept = "/forms/rujukan/list/?_flt_0_sumber=datang_langsung"
    page.goto(page.base + kept)
    edit = page.locator("a[href*='/forms/rujukan/edit/']").first.get_attribute("href")
    pk = re.search(r"/edit/(\d+)", edit).group(1)  # type: ignore[union-attr]
    page.goto(page.base + edit)
    walk.check("edit")
    page.fill("textarea[name=uraian]", f"Ditinjau ulang oleh {user} ({lang}).")
    saved_at = _local_now()
    with page.expect_navigation():
        page.click("form [type=submit].btn-primary >> nth=0")
    assert page.url.endswith(kept), page.url
    walk.check("after-edit")

    page.goto(page.base + f"/forms/rujukan/show/{pk}")
    page.click('a[href="#Riwayat"]')
    history = walk.check("record-history")
    shown = [
        datetime(int(m.group(3)), int(m.group(2)), int(m.group(1)), int(m.group(4)), int(m.group(5)))
        for m in TIMESTAMP.finditer(page.inner_text("#Riwayat"))
    ]
    assert any(abs(t - saved_at) <= timedelta(minutes=2) for t in shown), (saved_at, shown, history[:300])

    # a record page with related tabs that carry counts
    page.goto(page.base + "/forms/bimtek/show/1")
    tabs = page.locator('a[href^="#related-"]').all_inner_texts()
    assert tabs and all(re.search(r"\d+\s*$", t) for t in tabs), tabs
    page.click('a[href^="#related-"] >> nth=0')
    walk.check("related-tab")

    # the attendance grid on a batch's first day
    page.goto(page.base + "/forms/bimtek_kehadiran/grid/")
    first = page.evaluate("() => [...document.querySelectorAll('#group option')].find(o => o.value).textContent")
    page.select_option("#group", label=first.strip())
    page.wait_for_url("**group=*")
    walk.check("grid")

    # the logs: readable for the Admin, a 403 page in the user's language for the Kecamatan user
    audit = walk.go("/keamanan/audit/list/", "audit")
    if user == "kepala":  # the edit above, readable: the user, the form's title, the record's title
        assert "kepala" in audit and ("Registrasi & Rujukan" if lang == "id" else "Registration & referral") in audit
    walk.go("/keamanan/log-akses/list/", "access-log")

    # a record that does not exist
    walk.go("/forms/rujukan/show/99999999", "not-found")
    assert page.locator("a[href='/']").count() > 0  # a way back

    assert not walk.problems, "\n".join(walk.problems)
    assert page.errors == []
