"""Celery workers. ``celery -A workers.celery_app worker`` builds the same Flask app as the web server."""
