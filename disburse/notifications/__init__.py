"""E-mail notifications to units: an outbox table written set-based in the transaction that makes the news, and a
sender (``notifications.send``, beat every minute) that delivers what is due by SMTP, or as .eml files in
Development. See docs/operations.md, "Notifications"."""
