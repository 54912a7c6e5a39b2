"""The WSGI entry point: every request is served by an app built for the schema it runs against.

Flask cannot add blueprints to an app that has served requests, so a publish does not change
a running app: each worker process builds a complete new app beside the old one and switches.

- Each request holds the schema lock shared (forms_engine/schema_lock.py) from before Flask
  sees it until its response is sent, and reads the schema version under it. A publish holds
  the lock exclusively, so it waits for the requests in flight and the requests arriving
  meanwhile wait for it. A request that finds a version newer than its worker's app waits
  while the worker builds the new app (or finishes the build the watcher started), then is
  served by it. No request ever runs against tables its app was not built for.
- A watcher thread polls the version (`SCHEMA_POLL_SECONDS`) so an idle worker builds ahead of
  its next request; `GET /health` tells which version a worker serves.
- A replaced app is closed (its database pool disposed, its objects freed) as soon as the last
  request it was serving ends.
- A build that fails keeps the previous app serving (retried after a poll interval); one
  broken form never fails a build (app/form_building.py).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.wsgi import ClosingIterator

from app.database import dispose_app, write_intent
from app.forms_engine.schema_lock import SchemaLock

log = logging.getLogger(__name__)
UNLOCKED_PATHS = ("/static/", "/health")  # touch no form table: served without the lock


class _Generation:
    """One built app, the schema version it was built for and the requests it is serving."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.version: int = app.config["SIMPUL_SCHEMA_VERSION"]
        self.requests = 0
        self.replaced = False


class LiveApp:
    """A WSGI callable that serves each request with the app of the current schema version."""

    def __init__(self, factory: Callable[[], Flask] | None = None, watch: bool = True) -> None:
        if factory is None:
            from app import create_app

            factory = create_app
        self._factory = factory
        self._current = _Generation(factory())
        config = self._current.app.config
        self._poll = float(config["SCHEMA_POLL_SECONDS"])
        self._lock = SchemaLock(config["SQLALCHEMY_DATABASE_URI"])
        self._counts = threading.Lock()  # guards request counts and the switch
        self._building = threading.Lock()  # one build at a time
        self._failed: tuple[int, float] | None = None  # (version, when) of the last failed build
        self._watch_enabled = watch  # off in tests that drive the switches themselves
        self._watcher_pid: int | None = None
        self._stop = threading.Event()

    @property
    def app(self) -> Flask:
        """The app new requests are served by."""
        return self._current.app

    @property
    def version(self) -> int:
        """The schema version that app was built for."""
        return self._current.version

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self._watch_enabled and self._watcher_pid != os.getpid():
            self._start_watcher()
        if environ.get("PATH_INFO", "").startswith(UNLOCKED_PATHS):
            return self._current.app(environ, start_response)
        hold = self._lock.hold()  # waits while a publish runs
        try:
            generation = self._serving(hold.version)
            environ["simpul.schema_version"] = generation.version
        except BaseException:
            hold.release()
            raise
        try:
            response = generation.app(environ, start_response)
        except BaseException:
            hold.release()
            self._finished(generation)
            raise
        # Held until the response is sent: its body may still read records.
        return ClosingIterator(response, [hold.release, lambda: self._finished(generation)])

    def _serving(self, version: int) -> _Generation:
        """The generation for `version` (built now if need be), counted as serving one more request."""
        if self._current.version != version:
            self.switch(version)
        with self._counts:
            generation = self._current
            generation.requests += 1
            return generation

    def switch(self, version: int) -> bool:
        """Build and switch to an app for `version` unless the current one is; return whether it switched."""
        with self._building:
            if self._current.version == version:
                return False
            if self._failed and self._failed[0] == version and time.monotonic() - self._failed[1] < self._poll:
                return False  # it failed a moment ago: serve the previous app rather than rebuild per request
            started = time.monotonic()
            try:
                with write_intent(False):  # building reads; it never holds SQLite's write lock
                    new = _Generation(self._factory())
            except Exception:
                self._failed = (version, time.monotonic())
                log.exception("building the app for schema v%s failed; v%s stays live", version, self.version)
                return False
            with self._counts:
                old, self._current = self._current, new
                old.replaced = True
                idle = old.requests == 0
            log.info("schema v%s live in pid %s after %.2fs", new.version, os.getpid(), time.monotonic() - started)
        if idle:
            _close(old)
        return True

    def _finished(self, generation: _Generation) -> None:
        with self._counts:
            generation.requests -= 1
            last = generation.replaced and generation.requests == 0
        if last:
            _close(generation)

    def _start_watcher(self) -> None:
        with self._counts:
            if self._watcher_pid == os.getpid():
                return
            self._watcher_pid = os.getpid()  # after a fork the parent's thread is gone
        threading.Thread(target=self._watch, name="simpul-schema-watcher", daemon=True).start()

    def _watch(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self.refresh()
            except Exception:  # the database may be away for a moment; requests report it themselves
                log.exception("checking the schema version failed")

    def refresh(self) -> bool:
        """Build ahead when the published schema version moved; return whether the app switched."""
        version = self._lock.version()
        return version != self._current.version and self.switch(version)

    def stop(self) -> None:
        """Stop polling and close the lock's connections (tests)."""
        self._stop.set()
        self._lock.dispose()


def _close(generation: _Generation) -> None:
    """Close a replaced app: its pool now (no connection left open), its objects with the next collection."""
    dispose_app(generation.app)
    generation.app = None  # type: ignore[assignment]
    gc.collect()  # the app is a web of cycles; free its memory now, not at some later collection
