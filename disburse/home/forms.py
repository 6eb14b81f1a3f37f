"""The home page's unit look-up: a unit's code (in any case, or a part of it) or a part of its name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField

from disburse.forms import BaseForm, free_text

#: A look-up needs a few words of a unit's name (the registry holds up to 300 characters of it).
MAX_LOOKUP = 100


class UnitLookupForm(BaseForm):
    """A GET form (it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    unit = StringField(
        _l("Mã hoặc tên đơn vị"),
        validators=free_text(MAX_LOOKUP, required=_l("Hãy nhập mã đơn vị hoặc vài chữ trong tên đơn vị.")),
    )
