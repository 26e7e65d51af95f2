"""System checks of the console's own (`manage.py check`, and before `migrate`)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from webapp.static_storage import static_files_not_collected


# Not tagged "staticfiles": collectstatic runs those checks, and must not say to run itself.
@register()
def static_files_collected(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    problem = static_files_not_collected()
    if not problem:
        return []
    return [Warning(problem, id="webapp.W001")]
