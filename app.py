"""The WSGI entry point: `flask --app app ...` and `gunicorn app:app` load this."""

from courseware import create_app

app = create_app()
