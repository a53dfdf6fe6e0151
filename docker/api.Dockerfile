# syntax=docker/dockerfile:1
# The API image: graphql_api and the built frontend it serves. Build from the repository root:
#   docker build -f docker/api.Dockerfile -t end2end-chat/graphql-api:0.1.0 .
# Runs `python -m graphql_api serve`, which applies pending migrations first; the same image
# runs `python -m graphql_api migrate` and `python -m graphql_api users create NAME`.

FROM node:20.18.1-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
# The build also writes a gzip copy beside each text file, which the API sends as it is.
RUN npm run build

FROM python:3.11.11-slim-bookworm AS python-deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml docker/requirements.py ./
# Only the dependencies go into the virtualenv: the code is copied as source below, beside
# frontend/dist, where graphql_api looks for the build.
RUN python requirements.py > requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --requirement requirements.txt

FROM python:3.11.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home chat
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    API_HOST=0.0.0.0 \
    API_PORT=8000
COPY --from=python-deps /opt/venv /opt/venv
WORKDIR /app
COPY graphql_api/ graphql_api/
COPY --from=frontend /src/frontend/dist/ frontend/dist/
# Room for a SQLite file when DATABASE_URL points here (MariaDB needs none).
RUN mkdir data && chown 10001:10001 data
USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "graphql_api", "serve"]
