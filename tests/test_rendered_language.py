"""No English in the Indonesian screens and no Indonesian in the English ones.

A crawler visits, as Admin and as a Kecamatan user, in both languages, every menu entry (read
from the app's menu), every screen kind of every shipped form (list, add, show and edit of a
record the user may see, the grid, the export's headers), the security screens, the profile,
the login and the 404 page. It reads what a person sees (text, tooltips, placeholders, ARIA
labels, button values, confirmation texts, the strings handed to scripts) and fails on a
tell-tale word of the other language, on raw Python values ("True", "None", "[Admin]") and on
FAB's internal names ("can_list", "SimpulUserView"). Record data (names of people and places)
is Indonesian in both languages by nature, so the vocabularies hold screen words only.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import BACKENDS, add_user, login, shipped_app

# Words of the screens' vocabulary (matched as whole words, letter case kept).
ENGLISH = [
    "Search",
    "Add",
    "Edit",
    "Delete",
    "Show",
    "Save",
    "Back",
    "Cancel",
    "Actions",
    "Action",
    "Record Count",
    "No records found",
    "List",
    "User",
    "Users",
    "Role",
    "Roles",
    "Permission",
    "Permissions",
    "Groups",
    "Login Count",
    "Login count",
    "First Name",
    "Last Name",
    "Created",
    "Changed",
    "Active",
    "Select",
    "Page",
    "Previous",
    "Next",
    "Home",
    "Logout",
    "Profile",
    "Statistics",
    "Name",
    "Password",
    "Confirm",
    "Group by",
    "Count",
    "Views",
    "View",
    "Loading",
    "Searching",
    "results",
    "Remove",
    "Clear",
    "Today",
    "Please",
    "required",
    "Filter by",
    "Copy Role",
    "Reset",
    "Not found",
    "Sign in",
    "Login",
    "Yes",
    "True",
    "False",
    "None",
]
INDONESIAN = [
    "Tambah",
    "Ubah",
    "Hapus",
    "Cari",
    "Simpan",
    "Kembali",
    "Tampilkan",
    "Batal",
    "Keluar",
    "Beranda",
    "Pengguna",
    "Peran",
    "Izin",
    "Aksi",
    "Rincian",
    "Halaman",
    "Jumlah Data",
    "Data per halaman",
    "Wilayah kerja",
    "Ya",
    "Dibuat pada",
    "Diubah pada",
    "Pilih",
    "Sebelumnya",
    "Berikutnya",
    "Kata Sandi",
    "Masuk",
    "Profil",
    "Statistik",
    "Unduh",
    "Tidak ada",
    "Nama Depan",
    "Nama Belakang",
    "Aktif",
    "Kelompokkan",
    "Salin",
    "Atur",
    "Hasil",
    "Memuat",
    "Mencari",
    "Konfirmasi",
    "Tampilan",
    "Lihat",
]
# Words that are screen words only when they stand alone (else also record data or usage:
# Indonesian "No. KK", a "Tidak mampu" choice).
ENGLISH_ALONE = {"No", "OK", "On", "Off"}
INDONESIAN_ALONE = {"Tidak"}
# Not a language at all: a Python value or an internal name printed as it is.
RAW = [
    (re.compile(r"^(True|False|None|\[.*\])$"), "a raw Python value"),
    (re.compile(r"\b(can|menu)_[a-z_]+\b"), "FAB's internal permission or menu name"),
    (re.compile(r"\b[A-Z][A-Za-z]*(View|Api)\b"), "FAB's internal view name"),
    (re.compile(r"\bform_[a-z_]+\b"), "an internal table name"),
]
ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-text", "data-original-title", "data-simpul-i18n"}
UNSEEN = {"script", "style", "template"}


def _pattern(words: list[str]) -> re.Pattern[str]:
    return re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")(?![\w-])"
    )


OTHER = {
    "id": (_pattern(ENGLISH), ENGLISH_ALONE, "English"),
    "en": (_pattern(INDONESIAN), INDONESIAN_ALONE, "Indonesian"),
}


class _Seen(HTMLParser):
    """The texts a person meets on a page: text nodes, tooltips, placeholders, button values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in UNSEEN:
            self._hidden += 1
        for name, value in attrs:
            if name in ATTRIBUTES and value:
                self.texts.append(value)
        if tag == "input" and (found.get("type") or "").lower() in ("submit", "button", "reset") and found.get("value"):
            self.texts.append(found["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in UNSEEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.texts.append(" ".join(data.split()))


def seen_texts(html: str) -> list[str]:
    """Every text of the page a person can see or hear, in page order."""
    parser = _Seen()
    parser.feed(html)
    parser.close()
    return parser.texts


def wrong_language(texts: list[str], lang: str) -> list[str]:
    """The texts holding a word of the other language or a raw value, each with what was found."""
    pattern, alone, name = OTHER[lang]
    found = []
    for text in texts:
        if text in alone:
            found.append(f"{name} {text!r}")
            continue
        match = pattern.search(text)
        if match:
            found.append(f"{name} {match.group(1)!r} in {text[:120]!r}")
        for raw, what in RAW:
            match = raw.search(text)
            if match:
                found.append(f"{what} {match.group(0)[:60]!r} in {text[:120]!r}")
    return found


def test_the_checker_finds_what_it_should() -> None:
    html = (
        '<h1 title="Record Count">Daftar</h1><script>var x = "Search";</script><p>No</p>'
        '<input type="submit" value="Save"><td>True</td><td>[Admin]</td><td>can_list on SimpulUserView</td>'
        "<p>No. KK</p><p>Banua Lawas</p><p>Tenaga Kesejahteraan Sosial Kecamatan</p>"
    )
    found = wrong_language(seen_texts(html), "id")
    assert found == [
        "English 'Record Count' in 'Record Count'",
        "English 'No'",
        "English 'Save' in 'Save'",
        "English 'True' in 'True'",
        "a raw Python value 'True' in 'True'",
        "a raw Python value '[Admin]' in '[Admin]'",
        "FAB's internal permission or menu name 'can_list' in 'can_list on SimpulUserView'",
        "FAB's internal view name 'SimpulUserView' in 'can_list on SimpulUserView'",
    ]
    assert wrong_language(seen_texts("<p>Tidak</p><p>Tidak mampu</p><button>Ubah</button>"), "en") == [
        "Indonesian 'Tidak'",
        "Indonesian 'Ubah' in 'Ubah'",
    ]


# --- the crawl ------------------------------------------------------------------------------

USERS = {"penguji": "Admin", "camat": "Kecamatan"}


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The shipped forms with the demo data; an Admin and a Kecamatan user of the busiest kecamatan."""
    with shipped_app(request, tmp_path_factory.mktemp("language")) as app:
        for name, role in USERS.items():
            add_user(app, name, role)
        with app.app_context():
            rows = db.session.execute(sa.text("SELECT desa FROM form_penerima_bantuan")).scalars().all()
            kecamatan = Counter(code[:8] for code in rows).most_common(1)[0][0]
            sm = app.appbuilder.sm
            user = sm.find_user("camat")
            user.region_scope = kecamatan
            sm.update_user(user)
        yield app


def menu_urls(app: Any) -> list[str]:
    """Every entry of the app's menu (categories opened), as the navbar links them."""
    with app.test_request_context():
        items = app.appbuilder.menu.get_list()
        return [child.get_url() for item in items for child in (item.childs or [item]) if child.name != "-"]


def _first(pattern: str, html: str) -> str | None:
    match = re.search(pattern, html)
    return match.group(0) if match else None


def crawl(app: Any, client: Any, admin: bool) -> Iterator[tuple[str, int, str]]:
    """(url, status, html) of every screen kind the user can reach, and of those it may not."""
    seen: set[str] = set()

    def visit(url: str | None) -> Iterator[tuple[str, int, str]]:
        if url and url not in seen:
            seen.add(url)
            response = client.get(url, follow_redirects=True)
            yield url, response.status_code, response.get_data(as_text=True)

    yield from visit("/")
    for url in menu_urls(app):
        if url.startswith("/swagger"):
            continue  # Swagger UI's own page (English by its authors): documentation for developers
        for visited in visit(url):
            yield visited
            html = visited[2]
            for link in re.findall(r'href="(/[^"#?]+/(?:show|edit)/\d+)', html)[:2]:
                yield from visit(link)
            if url.startswith("/forms/"):
                base = url.rsplit("/list/", 1)[0]
                yield from visit(base + "/add")
                yield from visit(base + "/print/")
                if 'href="' + base + "/grid/" in html:
                    yield from visit(base + "/grid/")
    if admin:
        for url in (
            "/users/add",
            "/roles/add",
            "/groups/add",
            "/resetmypassword/form",
            "/userinfoeditview/form",
            "/cetak/tata-letak/penyaluran_bantuan",
            "/forms/penerima_bantuan/print/?layout=penyaluran_bantuan",
        ):
            yield from visit(url)
    yield from visit("/users/userinfo/")
    yield from visit("/no/such/page")


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("user", list(USERS))
def test_every_screen_speaks_the_chosen_language_only(site: Any, user: str, lang: str) -> None:
    client = site.test_client()
    login(client, user)
    client.get(f"/lang/{lang}")
    found, statuses = [], {}
    for url, status, html in crawl(site, client, admin=user == "penguji"):
        statuses[url] = status
        found += [f"{url} [{lang}]: {problem}" for problem in wrong_language(seen_texts(html), lang)]
    menu = [u for u in menu_urls(site) if not u.startswith("/swagger")]
    if user == "penguji":
        assert {u: s for u, s in statuses.items() if s != 200 and u != "/no/such/page"} == {}
        assert all(u in statuses for u in menu)
        assert any("/show/" in u for u in statuses) and any("/edit/" in u for u in statuses)
        assert any(u.endswith("/grid/") for u in statuses)
    else:
        assert sum(s == 200 and u.startswith("/forms/") for u, s in statuses.items()) > 20, statuses
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_login_page_speaks_the_chosen_language_only(site: Any, lang: str) -> None:
    client = site.test_client()
    client.get(f"/lang/{lang}")
    html = client.get("/login/").get_data(as_text=True)
    assert wrong_language(seen_texts(html), lang) == []


@pytest.mark.parametrize("lang", ["id", "en"])
def test_export_headers_speak_the_chosen_language_only(site: Any, lang: str) -> None:
    client = site.test_client()
    login(client, "penguji")
    client.get(f"/lang/{lang}")
    found = []
    for url in menu_urls(site):
        if not url.startswith("/forms/") or not url.endswith("/list/"):
            continue
        response = client.get(url.replace("/list/", "/export/"))
        if response.status_code != 200:
            continue  # a singleton (office settings) has no list to export
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        sheet = book.worksheets[0]
        header = [str(c) for c in next(sheet.iter_rows(max_row=1, values_only=True)) if c is not None]
        found += [f"{url} export [{lang}]: {p}" for p in wrong_language([sheet.title, *header], lang)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("lang", "line", "option"),
    [
        (
            "id",
            "<strong>Registrasi &amp; Rujukan</strong>: Lihat, Tambah, Ubah<br>",
            ">Lihat · Registrasi &amp; Rujukan<",
        ),
        (
            "en",
            "<strong>Registration &amp; referral</strong>: View, Add, Edit<br>",
            ">View · Registration &amp; referral<",
        ),
    ],
)
def test_role_screens_name_permissions_by_screen_and_action(site: Any, lang: str, line: str, option: str) -> None:
    client = site.test_client()
    login(client, "penguji")
    client.get(f"/lang/{lang}")
    with site.app_context():
        role = site.appbuilder.sm.find_role("Kecamatan").id
    assert line in client.get(f"/roles/show/{role}").get_data(as_text=True)
    assert option in client.get(f"/roles/edit/{role}").get_data(as_text=True)


def test_user_statistics_are_a_table_not_a_chart_from_google(site: Any) -> None:
    client = site.test_client()
    login(client, "penguji")
    html = client.get("/userstatschartview/chart/").get_data(as_text=True)
    assert "google_charts.js" not in html  # blocked by the CSP (script-src 'self'), so the chart stayed blank
    assert "<th>Nama Pengguna</th>" in html and "<meter" in html
    assert re.search(r'<td>penguji</td>\s*<td class="text-right">[1-9]\d*</td>', html)
