# Production-like image: one image for web (uvicorn, HTTP + websockets), worker and beat.
FROM node:20-bookworm-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 DJANGO_SETTINGS_MODULE=crm.settings
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
COPY --from=frontend /app/node_modules ./node_modules
# Static files are collected at build time and served by whitenoise with hashed names.
RUN SECRET_KEY=build-only FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1ub3QtYS1yZWFsLWtleS0wMDAwMDA= python manage.py collectstatic --noinput -v0
RUN useradd --create-home crm && mkdir -p /srv/media && chown -R crm /app /srv/media
USER crm
EXPOSE 8000
CMD ["python", "-m", "uvicorn", "crm.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers", "--forwarded-allow-ips", "*"]
