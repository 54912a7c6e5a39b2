"""WSGI module for gunicorn: `gunicorn app.wsgi:application` (each worker builds its app)."""

from app.live import LiveApp

application = LiveApp()
