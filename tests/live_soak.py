"""A live-publish soak: every kind of change published in a row into 3 workers under a request loop.

One cycle is 20 publishes (add, rename, type changes both ways, retire and restore of a field,
of a child table and of a whole form, unique and index rules, label, length limit) and leaves
the forms as it found them but for one retired field, so the cycle repeats for longer runs.
The loop only writes values that every step accepts (`nama` unique, `umur` digits), so each
failure it sees is the server's. Used by tests/test_live_soak.py and bench/live_publish_soak.py.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.live_load import (
    LoadReport,
    RequestLoop,
    connection_count,
    execute,
    lost_values,
    schema_version_of,
    server_env,
    serving,
    stored,
    wait_for,
)


@dataclass(frozen=True)
class Forms:
    """The soak's forms at one step."""

    umur: str = "text"
    catatan: str = "catatan"
    kota: str = "kota"
    kota_live: bool = True
    telepon: bool = False
    anggota: bool = True
    nama_unique: bool = False
    nama_max: int | None = None
    nama_label: str = "Nama"
    umur_indexed: bool = False
    kegiatan: bool = False

    def files(self) -> dict[str, str]:
        """Definition files, by name."""
        nama = f"{{name: nama, type: text, label: {self.nama_label}, required: true"
        nama += ", unique: true" if self.nama_unique else ""
        nama += f", max_length: {self.nama_max}" if self.nama_max else ""
        fields = [
            nama + "}",
            f"{{name: umur, type: {self.umur}, label: Umur" + (", indexed: true}" if self.umur_indexed else "}"),
            f"{{name: {self.catatan}, id: catatan, type: longtext, label: Catatan}}",
        ]
        if self.kota_live:
            fields.append(f"{{name: {self.kota}, id: kota, type: text, label: Kota}}")
        if self.telepon:
            fields.append("{name: telepon, type: text, label: Telepon}")
        lines = ["form: peserta", "title: Peserta", "fields:", *[f"  - {f}" for f in fields]]
        if self.anggota:
            lines += ["  - name: anggota", "    type: child", "    label: Anggota"]
            lines += ["    fields: [{name: nama, type: text, label: Nama}]"]
        files = {"peserta.yaml": "\n".join(lines) + "\n"}
        if self.kegiatan:
            files["kegiatan.yaml"] = (
                "form: kegiatan\ntitle: Kegiatan\nfields: [{name: judul, type: text, label: Judul}]\n"
            )
        return files


RETIRE_KEGIATAN = "retire form kegiatan"
STEPS: list[tuple[str, Callable[[Forms], Forms]]] = [
    ("add a field", lambda f: replace(f, telepon=True)),
    ("rename a field", lambda f: replace(f, catatan="keterangan")),
    ("text to integer", lambda f: replace(f, umur="integer")),
    ("retire a field", lambda f: replace(f, kota_live=False)),
    ("restore a field", lambda f: replace(f, kota_live=True)),
    ("unique rule", lambda f: replace(f, nama_unique=True)),
    ("index", lambda f: replace(f, umur_indexed=True)),
    ("retire a child table", lambda f: replace(f, anggota=False)),
    ("restore a child table", lambda f: replace(f, anggota=True)),
    ("integer to decimal", lambda f: replace(f, umur="decimal")),
    ("new form", lambda f: replace(f, kegiatan=True)),
    ("label", lambda f: replace(f, nama_label="Nama lengkap")),
    ("length limit", lambda f: replace(f, nama_max=40)),
    ("rename another field", lambda f: replace(f, kota="kabupaten")),
    (RETIRE_KEGIATAN, lambda f: f),
    ("restore a form", lambda f: f),  # publishing it again brings it back
    ("decimal to integer", lambda f: replace(f, umur="integer")),
    ("rules off", lambda f: replace(f, nama_unique=False, umur_indexed=False, nama_max=None, nama_label="Nama")),
    ("names back", lambda f: replace(f, catatan="catatan", kota="kota")),
    ("integer to text, field retired", lambda f: replace(f, umur="text", telepon=False)),
]
SEEDED = [("Siti", "41", "catatan satu", "Tanjung"), ("Budi", "7", "catatan dua", "Kelua")]
DWELL_REQUESTS = 8  # requests on each version once every worker serves it


@dataclass
class SoakResult:
    """What a soak measured."""

    report: LoadReport
    publishes: int = 0
    seconds: float = 0.0
    switch_seconds: list[float] = field(default_factory=list)  # publish committed -> every worker on it
    rss_start: dict[int, float] = field(default_factory=dict)  # after the warm-up publishes
    rss_end: dict[int, float] = field(default_factory=dict)
    pids_start: list[int] = field(default_factory=list)
    pids_end: list[int] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)  # PostgreSQL: after each publish
    lost: list[str] = field(default_factory=list)
    seeds_kept: bool = False

    @property
    def rss_growth_mb(self) -> float:
        """The largest growth of one worker's memory from the warm-up to the end."""
        return max((self.rss_end.get(pid, 0) - start for pid, start in self.rss_start.items()), default=0.0)


def run_soak(app: Any, workdir: Path, publishes: int, warmup: int = 3, workers: int = 3, log: Any = None) -> SoakResult:
    """Serve `app`'s database with gunicorn under a request loop while publishing `publishes` changes."""
    from app.cli import publish_path, refresh_permissions
    from app.extensions import db
    from app.forms_engine.publish import retire_form
    from app.forms_engine.schema_lock import schema_change

    url = app.config["DATABASE_URL"]
    postgres = url.startswith("postgresql")
    say = log or (lambda line: None)
    folder = workdir / "forms"
    folder.mkdir(parents=True, exist_ok=True)

    def publish(forms: Forms) -> None:
        for old in folder.glob("*.yaml"):
            old.unlink()
        for name, text in forms.files().items():
            (folder / name).write_text(text, encoding="utf-8")
        with app.app_context(), contextlib.redirect_stdout(sys.stderr):  # the command's report is not a figure
            publish_path(str(folder), "soak")

    forms = Forms()
    publish(forms)
    for nama, umur, catatan, kota in SEEDED:
        execute(
            url,
            f"INSERT INTO form_peserta (nama, umur, catatan, kota) VALUES ('{nama}', '{umur}', '{catatan}', '{kota}')",
        )
    execute(url, "INSERT INTO form_peserta__anggota (parent_id, nama) VALUES (1, 'Ani'), (1, 'Budi')")
    env = server_env(url, app.config["UPLOAD_DIR"])
    started = time.monotonic()
    with serving(env, workdir / "gunicorn.log", workers) as server, RequestLoop(server.base, "peserta") as loop:
        result = SoakResult(loop.report, pids_start=server.worker_pids())
        for number in range(publishes):
            step, change = STEPS[number % len(STEPS)]
            if step == RETIRE_KEGIATAN:
                with app.app_context():
                    with schema_change(db.engine) as conn:
                        retire_form(conn, "kegiatan", "soak")
                    refresh_permissions()
            else:
                forms = change(forms)
                publish(forms)
            committed, version = time.monotonic(), schema_version_of(url)
            wait_for(lambda server=server, version=version: server.versions() == {version}, 60, f"{step} live")
            result.switch_seconds.append(time.monotonic() - committed)
            served = loop.report.total  # every version serves the loop for a while before the next publish
            wait_for(lambda served=served: loop.report.total >= served + DWELL_REQUESTS, 60, f"{step} served")
            if postgres:
                result.connections.append(connection_count(url))
            if number + 1 == min(warmup, publishes):
                result.rss_start = server.rss_mb()
            say(
                f"{number + 1:3} {step:32} v{version}  {loop.report.total} requests, {len(loop.report.failures)} failed"
            )
        time.sleep(0.5)
        result.rss_end, result.pids_end = server.rss_mb(), server.worker_pids()
    result.publishes, result.seconds = publishes, time.monotonic() - started
    result.lost = lost_values(url, loop.report, "form_peserta")
    catatan, kota = forms.catatan, forms.kota
    seeds = stored(url, f"SELECT nama, {catatan}, {kota} FROM form_peserta WHERE id <= 2 ORDER BY id")
    members = stored(url, "SELECT nama FROM form_peserta__anggota ORDER BY id")
    result.seeds_kept = seeds == [(n, c, k) for n, _, c, k in SEEDED] and members == [("Ani",), ("Budi",)]
    return result


def prepared_app(database_url: str, workdir: Path) -> Any:
    """A migrated app on `database_url` with an admin (admin / admin-pass) and no forms yet."""
    from app import create_app
    from app.access.permissions import sync_permissions
    from app.migrations import upgrade_database

    config = {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "SECRET_KEY": "test-only-secret-key-of-at-least-32-bytes",
        "UPLOAD_DIR": str(workdir / "uploads"),
        "FORMS_DIR": str(workdir / "forms"),
    }
    app = create_app(config)
    with app.app_context():
        upgrade_database()
        sync_permissions(app.appbuilder, {})
        sm = app.appbuilder.sm
        role = sm.find_role("Admin") or sm.add_role("Admin")
        sm.add_user("admin", "admin", "Soak", "admin@example.org", role, "admin-pass")
    return app
