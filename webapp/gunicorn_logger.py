"""gunicorn's logger with secrets taken out of the access and error logs (gunicorn.conf.py).

The access line is built from atoms (`%(r)s` the request line, `%(U)s` the path, `%(f)s` the
referer, `{…}i` headers…): every one of them may carry `/share/<token>/`,
`/set-password/<token>/` or a gateway key, so all are rewritten (webapp/logfilters.py).
"""

from __future__ import annotations

from gunicorn.glogging import Logger as GunicornLogger

from webapp.logfilters import RedactSecrets, redact_secrets


class Logger(GunicornLogger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        # gunicorn's own lines ("Error handling request /share/…") go through error_log.
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactSecrets) for f in log.filters):
                log.addFilter(RedactSecrets())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact_secrets(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
