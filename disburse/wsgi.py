"""WSGI entry point for gunicorn: ``gunicorn disburse.wsgi:app``."""

from disburse import create_app

app = create_app()
