from __future__ import annotations

import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

# The team gateway's /v1/ skips Django's middleware and URL resolver (gateway/wsgi.py).
from gateway.wsgi import with_gateway

application = with_gateway(get_wsgi_application())

# Said once at start-up, where whoever started the server looks, rather than only in each failing
# page's traceback.
from webapp.static_storage import static_files_not_collected  # noqa: E402

if problem := static_files_not_collected():
    logging.getLogger("webapp.wsgi").error(problem)
