"""What a built app loads: every web worker and the job runner build one, so what it imports is paid in each.

Libraries that only some work needs load where that work runs: reportlab when a roster is drawn,
ldap3 at a directory sign-in, Alembic (with Mako) when the database is migrated or a form published. A fresh interpreter is used so the test process's own imports do
not count.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOADED_ON_DEMAND = ("reportlab", "ldap3", "pyasn1", "alembic", "flask_migrate", "mako")

BUILD = """
import json, sys
from app import create_app
app = create_app({"DATABASE_URL": "sqlite:///%(db)s", "TESTING": True, "SECRET_KEY": "%(key)s",
                  "UPLOAD_DIR": "%(dir)s", "FORMS_DIR": "%(dir)s"})
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_a_built_app_loads_no_library_that_only_some_work_needs(tmp_path: Path) -> None:
    code = BUILD % {"db": tmp_path / "app.db", "key": "f" * 64, "dir": tmp_path}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "flask_appbuilder" in loaded and "xlsxwriter" in loaded  # the probe sees what the app imports
    assert loaded.isdisjoint(LOADED_ON_DEMAND), sorted(loaded & set(LOADED_ON_DEMAND))


def test_the_migration_commands_still_answer_on_the_command_line(tmp_path: Path) -> None:
    """`flask db …` loads Flask-Migrate when invoked: it knows the newest migration and applies it."""
    env = {
        **os.environ,
        "SIMPUL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SIMPUL_SECRET_KEY": secrets.token_hex(32),
        "SIMPUL_UPLOAD_DIR": str(tmp_path),
        "SIMPUL_FORMS_DIR": str(tmp_path),
    }
    newest = sorted(p.name.split("_")[0] for p in (ROOT / "migrations" / "versions").glob("[0-9]*.py"))[-1]

    def flask_db(*args: str) -> str:
        command = [sys.executable, "-m", "flask", "--app", "app:create_app", "db", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout

    assert f"{newest} (head)" in flask_db("heads")
    assert f"{newest} (head)" not in flask_db("current")  # a new database: nothing applied yet
    flask_db("upgrade")
    assert f"{newest} (head)" in flask_db("current")
