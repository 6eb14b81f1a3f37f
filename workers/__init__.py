"""Celery workers. ``celery -A workers.worker worker`` builds the same Flask app as the web server; the task modules
here import ``disburse`` and never the reverse."""
