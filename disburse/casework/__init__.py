"""The caseworker's pages: the work queue, the case page and its action forms, served by :mod:`.views` on the
services of verification (the review queue), claims (corrections) and payments (cash at the office)."""
