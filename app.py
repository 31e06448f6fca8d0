"""The WSGI entry point: `flask --app app ...` and `gunicorn app:app` load this."""

from courseware.factory import create_app

app = create_app()
