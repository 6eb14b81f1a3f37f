"""The home page per role: what needs the user today (service.py) and what the programme has done so far."""
