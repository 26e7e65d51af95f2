"""Django's makemessages, also collecting `_lazy(...)`: two modules import gettext_lazy under that
name (`_` is gettext there), and xgettext knows only the standard names, so their strings never
reached the catalog and stayed English. tests/test_catalogs.py finds any other alias."""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_lazy"]
