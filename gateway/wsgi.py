"""/v1/ goes straight to the gateway's lean WSGI application; everything else to Django."""

from __future__ import annotations

PREFIX = "/v1/"


def with_gateway(django_application):
    from gateway.api import application as gateway_application

    def application(environ, start_response):
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return gateway_application(environ, start_response)
        return django_application(environ, start_response)

    return application
