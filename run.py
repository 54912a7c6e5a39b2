"""Set up Simpul (migrate, publish forms/, admin account) and serve it with gunicorn.

python run.py            # http://127.0.0.1:8080, SQLite in instance/ by default
python run.py --no-setup # serve only
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--no-setup", action="store_true", help="skip migrations, form publishing and the admin account"
    )
    args = parser.parse_args()
    app = create_app()
    if not args.no_setup:
        with app.app_context():
            from app.cli import setup

            setup(publish_forms=True)
    host, port, workers = app.config["HOST"], app.config["PORT"], app.config["WORKERS"]
    print(f"Simpul is serving on http://{host}:{port} ({workers} workers)", flush=True)
    options = {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-", "timeout": 120}
    Server({**options, "logger_class": "app.access.redaction.GunicornLogger"}).run()  # no full NIK in a log line


if __name__ == "__main__":
    main()
