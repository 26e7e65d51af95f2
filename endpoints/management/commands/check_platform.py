"""`python manage.py check_platform [--credential NAME]`: does the platform answer the table?

Calls every read-only route of the route table in force once (and none that writes) with a stored
service account, and prints per operation: answered or not, the status, the list envelope or
object wrapper and the field names seen against those expected, and the route's source (SEEN,
UNVERIFIED, CAPTURED). Fields and statuses the table does not know are listed; none is fatal.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from endpoints.fields import DecryptionError
from endpoints.models import Credential
from endpoints.platform_check import OperationCheck, PlatformReport, platform_check


def _outcome(check: OperationCheck) -> str:
    if check.skipped == "writes":
        return "not called (it writes)"
    if check.skipped:
        return f"not called ({check.skipped})"
    if check.answered:
        return f"answered {check.status} in {check.ms} ms"
    return f"no answer ({check.error})" if check.status is None else f"refused: {check.error}"


def _count(report: PlatformReport) -> str:
    """ "7 of 7 read routes answered.", or with the get routes that had nothing to ask about
    counted apart: "6 of 6 read routes answered, 1 not asked: nothing listed."."""
    counted = f"{report.answering} of {len(report.asked)} read routes answered"
    if report.not_asked:
        return f"{counted}, {len(report.not_asked)} not asked: nothing listed."
    return f"{counted}."


def report_text(report: PlatformReport) -> str:
    lines = [
        f"Platform {report.base_url}, as {report.credential}; routes: "
        + (report.routes_file or "the defaults (no AIPLATFORM_ROUTES_FILE)"),
        _count(report),
        "",
    ]
    for c in report.checks:
        lines.append(f"{c.operation:<26}{c.source:<12}{c.method} {c.path}: {_outcome(c)}")
        if not c.called or not c.answered:
            continue
        if c.items is not None:
            noun = "object" if c.items == 1 else "objects"
            lines.append(f"    {c.items} {noun} in the answer")
        if c.envelope_missing:
            lines.append(f"    envelope: expected {', '.join(c.envelope_missing)}, not seen")
        else:
            lines.append(f"    envelope: {', '.join(c.envelope_expected)} as expected")
        if c.envelope_unknown:
            lines.append(f"    envelope names not in the table: {', '.join(c.envelope_unknown)}")
        if c.fields_missing:
            lines.append(f"    fields expected, not seen: {', '.join(c.fields_missing)}")
        elif c.items != 0:
            lines.append(f"    fields: all {c.fields_expected} expected names seen")
        if c.fields_unknown:
            lines.append(f"    fields not in the table (unused): {', '.join(c.fields_unknown)}")
        if c.unknown_statuses:
            lines.append(
                f"    statuses not known (shown as they come): {', '.join(c.unknown_statuses)}"
            )
    return "\n".join(lines)


def unreachable_text(report: PlatformReport) -> str:
    """What to do when no read route got any HTTP answer at all ("" when one did)."""
    if not report.unreachable:
        return ""
    return (
        f"The platform at {report.base_url} does not answer: {report.unreachable}\n"
        "Against the local platform: is `make run` running? This command reads the port it "
        "started the local platform on from var/run.env (LOCALPLATFORM_PORT, "
        "AIPLATFORM_MANAGEMENT_URL); a variable set in this shell wins.\n"
        "Against VNG Cloud: set AIPLATFORM_MANAGEMENT_URL and AIPLATFORM_IAM_TOKEN_URL as "
        "docs/vngcloud.md says, in this shell as in the dashboard's processes."
    )


class Command(BaseCommand):
    help = "Call every read route of the management route table once and compare the answers."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--credential",
            help="label of the stored service account to call with (default: the first usable)",
        )

    def handle(self, *args, credential: str | None = None, **options) -> None:
        try:
            chosen = self._account(credential)
        except DecryptionError:
            raise CommandError(
                "The stored credentials cannot be decrypted with the FIELD_ENCRYPTION_KEYS of "
                "this shell. Run the command in the checkout where `make run` runs (manage.py "
                "reads its keys from var/local.env), or export the keys the dashboard runs with."
            ) from None
        report = platform_check(chosen)
        unreachable = unreachable_text(report)
        if unreachable:
            raise CommandError(unreachable)
        self.stdout.write(report_text(report))

    def _account(self, credential: str | None) -> Credential:
        accounts = Credential.objects.filter(kind=Credential.Kind.SERVICE_ACCOUNT)
        if credential:
            chosen = accounts.filter(label=credential).first()
            if chosen is None:
                known = ", ".join(accounts.values_list("label", flat=True)) or "none"
                raise CommandError(f"No service account labelled {credential!r} (stored: {known}).")
        else:
            chosen = accounts.exclude(state=Credential.State.INVALID).first()
            if chosen is None:
                raise CommandError(
                    "No usable service account is stored: add one on the Credentials page."
                )
        return chosen
