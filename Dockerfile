# One image for web, worker, beat and the local platform (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY webapp webapp
COPY endpoints endpoints
COPY playground playground
COPY gateway gateway
COPY monitoring monitoring
COPY localplatform localplatform
COPY templates templates
COPY static static
COPY locale locale
COPY manage.py gunicorn.conf.py ./
RUN pip install --no-cache-dir . \
    && DEBUG=true python manage.py compilemessages --ignore=.venv -v 0 \
    && DEBUG=true python manage.py collectstatic --no-input -v 0
RUN useradd --create-home --uid 1000 app && mkdir -p /app/var && chown app /app/var
USER app
# An image runs as production unless told otherwise: DEBUG off, so a plain `docker run` refuses to
# start without SECRET_KEY, FIELD_ENCRYPTION_KEYS and ALLOWED_HOSTS instead of using the published
# development ones.
ENV DEBUG=false
# Listen on the container's interface (gunicorn.conf.py's own default is the loopback, right for a
# host): `docker run -p 127.0.0.1:8000:8000` then reaches it, and the host decides what is published.
ENV GUNICORN_BIND=0.0.0.0:8000
EXPOSE 8000
CMD ["python", "-m", "gunicorn", "webapp.wsgi", "-c", "gunicorn.conf.py"]
