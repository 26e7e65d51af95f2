"""`python manage.py import_console_har FILE.har`: the console's management routes, from a HAR.

Record the VNG console in the browser's network panel while going through the Inference pages
(list, create, scale, stop, start, delete), save it as HAR ("Save all as HAR"), and run this. It
prints the route table it found beside the one in force, with what differs, and writes a routes
file for AIPLATFORM_ROUTES_FILE. Operations it could not find stay as they were, marked.

Only methods, paths (ids as slots), query parameter names and JSON field names are read out of the
file: no header, cookie, token, key or other value is stored or printed. A file it refuses (too
big, not JSON, not HAR 1.2, empty, another host, no management call) writes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from endpoints.har import HarOtherHost, HarRefused
from endpoints.route_capture import Capture, capture_from_har, route_text
from webapp.platform_routes import dump_routes


def capture_text(capture: Capture, *, name: str) -> str:
    """The report: every operation, the envelope and the field maps, in force beside found."""
    width = max(len(route_text(f.in_force)) for f in capture.findings) + 2
    lines = [
        f"{name}: {capture.calls} management calls, "
        f"{capture.found} of {len(capture.findings)} operations found.",
        "",
        f"{'operation':<26}{'in force':<{width}}{'source':<12}found in the HAR",
    ]
    for f in capture.findings:
        source = f.in_force.get("source", "UNVERIFIED")
        if f.found is None:
            found = "not found: kept as it was"
        else:
            found = route_text(f.found) + (" (differs)" if f.differs else " (same)")
        lines.append(f"{f.operation:<26}{route_text(f.in_force):<{width}}{source:<12}{found}")
    for m in capture.maps:
        lines += ["", f"{m.key}:"]
        rows = m.rows()
        column = max(len(str(current)) for _a, current, _f, _d in rows) + 2
        for attribute, current, found, differs in rows:
            shown = "—" if found is None else str(found)
            mark = " (differs)" if differs else ("" if found is not None else " (not found)")
            lines.append(f"  {attribute:<22}{current!s:<{column}}{shown}{mark}")
        if m.unknown:
            lines.append(f"  fields no attribute uses: {', '.join(m.unknown)}")
    if capture.unknown_statuses:
        lines += ["", "Statuses the dashboard does not know (kept and shown as they come): "]
        lines[-1] += ", ".join(capture.unknown_statuses)
    for note in capture.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Capture the management routes from a HAR of the VNG console and write a routes file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("har", help="the .har file saved from the browser's network panel")
        parser.add_argument(
            "--output",
            default=str(Path(settings.VAR_DIR) / "aiplatform-routes.json"),
            help="where to write the routes file (default: var/aiplatform-routes.json)",
        )
        parser.add_argument(
            "--management-url",
            default=None,
            help="the management API the console calls (default: AIPLATFORM_MANAGEMENT_URL)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print the comparison, write nothing"
        )

    def handle(self, *args, **options) -> None:
        path = Path(options["har"])
        name = path.name
        try:
            size = os.path.getsize(path)
            with path.open("rb") as stream:
                capture = capture_from_har(
                    stream, size=size, name=name, management_url=options["management_url"]
                )
        except OSError as exc:
            raise CommandError(
                f"{path}: cannot be read ({exc.strerror}). Nothing written."
            ) from None
        except HarOtherHost as exc:
            raise CommandError(
                f"{exc} If the console calls the management API at another address, pass it: "
                "--management-url https://HOST. Nothing written."
            ) from None
        except HarRefused as exc:
            raise CommandError(f"{exc} Nothing written.") from None
        self.stdout.write(capture_text(capture, name=name))
        if options["dry_run"]:
            self.stdout.write("\n--dry-run: nothing written.")
            return
        output = Path(options["output"])
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(dump_routes(capture.routes), encoding="utf-8")
        self.stdout.write(
            f"\nWrote {output} (methods, paths and field names only: no header, cookie, token "
            "or value from the HAR).\n"
            f"Use it: AIPLATFORM_ROUTES_FILE={output.resolve()}, then restart the web, worker "
            "and beat processes; `python manage.py check_platform` shows whether each read "
            "route answers."
        )
        recorded = (options["management_url"] or "").strip().rstrip("/")
        in_force = settings.AIPLATFORM_MANAGEMENT_URL.rstrip("/")
        if recorded and recorded.lower() != in_force.lower():
            self.stdout.write(
                f"Set AIPLATFORM_MANAGEMENT_URL={recorded} too: the routes file holds paths "
                f"only, called on AIPLATFORM_MANAGEMENT_URL, now {in_force}."
            )
