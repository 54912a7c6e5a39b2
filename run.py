"""Set up Simpul (migrate, publish forms/, admin account) and serve it with gunicorn, with the
scheduler process (`flask simpul scheduler`: periodic jobs, background jobs, e-mail) beside it.

python run.py                 # http://127.0.0.1:8080, SQLite in instance/ by default
python run.py --no-setup      # serve only
python run.py --no-scheduler  # web server only (a scheduler runs elsewhere)

Ctrl-C (or SIGTERM to this process) stops both.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from gunicorn.app.base import BaseApplication

from app import create_app


class Server(BaseApplication):
    """gunicorn with Simpul's settings; each worker builds its own live app after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from app.live import LiveApp

        return LiveApp()


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM if run.py dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def scheduler_beside(app_module: str = "app:create_app") -> Iterator[subprocess.Popen[bytes]]:
    """Run `flask simpul scheduler` as a child process for the block; stop it (SIGTERM) after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", app_module, "simpul", "scheduler"],
        env=os.environ.copy(),
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        elif process.returncode not in (0, None):
            print(f"the scheduler had stopped (exit status {process.returncode})", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--no-setup", action="store_true", help="skip migrations, form publishing and the admin account"
    )
    parser.add_argument("--no-scheduler", action="store_true", help="do not start the scheduler process")
    args = parser.parse_args()
    app = create_app()
    if not args.no_setup:
        with app.app_context():
            from app.cli import setup

            setup(publish_forms=True)
    host, port, workers = app.config["HOST"], app.config["PORT"], app.config["WORKERS"]
    print(f"Simpul is serving on http://{host}:{port} ({workers} workers)", flush=True)
    options = {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-", "timeout": 120}
    server = Server({**options, "logger_class": "app.access.redaction.GunicornLogger"})  # no full NIK in a log line
    with contextlib.ExitStack() as stack:
        if not args.no_scheduler:
            stack.enter_context(scheduler_beside())
        server.run()  # until Ctrl-C / SIGTERM (gunicorn's arbiter exits with SystemExit)


if __name__ == "__main__":
    main()
