"""The admins' pages: imports uploaded in the browser, users and roles with their scopes, the programme's
parameters, providers, workers and queues, and the audit log (the background jobs' pages are in
``disburse.jobs.views``)."""
