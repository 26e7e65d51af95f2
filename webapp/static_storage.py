"""Static files with DEBUG off: whitenoise's compressed manifest storage, which names each file by
its hashed name from STATIC_ROOT/staticfiles.json, written by collectstatic.

Without that manifest no page can be rendered. Pages still fail rather than link to names nothing
serves (a console without its styles and scripts would look broken in subtler ways), but the error,
`manage.py check` and the web server's start-up log all say what to run.
"""

from __future__ import annotations

from django.contrib.staticfiles.storage import staticfiles_storage
from whitenoise.storage import CompressedManifestStaticFilesStorage  # type: ignore[import-untyped]


def static_files_not_collected() -> str | None:
    """What is wrong, in words, when the static files storage needs a manifest that is not there."""
    manifest = getattr(staticfiles_storage, "manifest_name", None)
    if not manifest or staticfiles_storage.exists(manifest):
        return None
    return (
        f"The static files have not been collected: {staticfiles_storage.path(manifest)} is "
        "missing, so with DEBUG off every page fails. Run `python manage.py collectstatic "
        "--no-input` (with the same settings), then restart the web server."
    )


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError as exc:
            problem = static_files_not_collected()
            if problem:
                raise ValueError(f"{exc}. {problem}") from exc
            raise
