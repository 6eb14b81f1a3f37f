"""The landing page: what the programme has done so far (and, as the portals arrive, what needs the user today)."""
