# One image for every role: the web server (default command), the Celery worker and the
# one-shot migration job (compose.yaml and docs/deployment.md show each command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=loreos.settings \
    LOREOS_VAR_DIR=/var/lib/loreos \
    STATIC_ROOT=/app/staticfiles \
    GUNICORN_BIND=0.0.0.0:8000

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change reuses this layer.
# Every dependency ships a wheel (psycopg[binary], Pillow, dlib-bin): no compiler needed.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The source itself (.dockerignore keeps out .venv, var/, tests and VCS data).
COPY . .

# Static files are collected at build time and served by WhiteNoise from the image.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0

RUN useradd --system --uid 10001 --home-dir /var/lib/loreos --create-home loreos \
    && mkdir -p /var/lib/loreos/media \
    && chown -R loreos:loreos /var/lib/loreos
USER loreos

EXPOSE 8000
# /healthz (process + database), with the first ALLOWED_HOSTS name as Host; it is exempt
# from the HTTPS redirect. Worker containers override or disable this check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h if h not in ('', '*') else 'localhost'}), timeout=4)"]

CMD ["gunicorn", "loreos.asgi:application", "-c", "loreos/gunicorn_conf.py"]
