"""/v1/ (and /v1 itself) goes straight to the gateway's lean WSGI application, which answers
unknown URLs in OpenAI's shape; everything else to Django."""

from __future__ import annotations

PREFIX = "/v1/"


def with_gateway(django_application):
    from gateway.api import application as gateway_application

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) or path == PREFIX.rstrip("/"):
            return gateway_application(environ, start_response)
        return django_application(environ, start_response)

    return application
