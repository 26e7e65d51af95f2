from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

# The team gateway's /v1/ skips Django's middleware and URL resolver (gateway/wsgi.py).
from gateway.wsgi import with_gateway

application = with_gateway(get_wsgi_application())
