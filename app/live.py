"""The WSGI entry point: serves the current app and swaps in a rebuilt one after a publish.

Flask cannot add blueprints to an app that has served requests, so a publish does not
change the running app: each worker process polls the published schema version and, when
it moves, builds a complete new app beside the old one and switches to it. Requests
already running finish on the old app; its database pool is closed a little later.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.pool import NullPool

from app.database import dispose_app
from app.forms_engine.store import schema_version

log = logging.getLogger(__name__)
RETIRE_AFTER_SECONDS = 60.0


class LiveApp:
    """A WSGI callable that always delegates to the newest published app."""

    def __init__(self, factory: Callable[[], Flask] | None = None) -> None:
        if factory is None:
            from app import create_app

            factory = create_app
        self._factory = factory
        self.app = factory()
        self.version: int = self.app.config["SIMPUL_SCHEMA_VERSION"]
        self._poll = float(self.app.config["SCHEMA_POLL_SECONDS"])
        self._url = self.app.config["SQLALCHEMY_DATABASE_URI"]
        self._watcher_pid: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self._watcher_pid != os.getpid():
            self._start_watcher()
        app = self.app  # one app for the whole request, even if a swap happens meanwhile
        environ["simpul.schema_version"] = self.version
        return app(environ, start_response)

    def _start_watcher(self) -> None:
        with self._lock:
            if self._watcher_pid == os.getpid():
                return
            self._watcher_pid = os.getpid()  # after a fork the parent's thread is gone
            threading.Thread(target=self._watch, name="simpul-schema-watcher", daemon=True).start()

    def _watch(self) -> None:
        engine = sa.create_engine(self._url, poolclass=NullPool)
        try:
            while not self._stop.wait(self._poll):
                try:
                    self.refresh(engine)
                except Exception:  # a failed rebuild keeps the last good app serving
                    log.exception("rebuilding the app after a publish failed; the previous version stays live")
        finally:
            engine.dispose()

    def refresh(self, engine: sa.Engine) -> bool:
        """Rebuild when the published schema version moved; return whether it did."""
        with engine.connect() as conn:
            published = schema_version(conn)
        if published == self.version:
            return False
        started = time.monotonic()
        new_app = self._factory()
        old_app, self.app = self.app, new_app
        self.version = new_app.config["SIMPUL_SCHEMA_VERSION"]
        log.info("schema v%s live in pid %s after %.2fs", self.version, os.getpid(), time.monotonic() - started)
        timer = threading.Timer(RETIRE_AFTER_SECONDS, dispose_app, args=(old_app,))
        timer.daemon = True
        timer.start()
        return True

    def stop(self) -> None:
        """Stop polling (tests)."""
        self._stop.set()
