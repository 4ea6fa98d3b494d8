# One image for both processes of the service:
#   API:    uvicorn service.api:app --host 0.0.0.0 --port 8000   (the default CMD)
#   worker: python worker.py
# docker-compose.yml picks the command per service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Copy only what the package needs, so .venv, .git and .data in the build context never reach the image.
COPY pyproject.toml ./
COPY workflows ./workflows
COPY activities ./activities
COPY models ./models
COPY service ./service
COPY worker.py ./

# pyproject.toml pins everything, psycopg (the driver behind postgresql+psycopg://...) included.
RUN pip install .

# Never run as root; the service writes nothing to its own files (the read model lives in PostgreSQL).
RUN useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin p2ham
USER p2ham

# Python is PID 1 here and has a handler for SIGINT only (an unhandled SIGTERM is ignored by PID 1):
# SIGINT stops uvicorn gracefully and makes worker.py cancel Worker.run(), which shuts the worker down cleanly
# (Temporal retries on another worker whatever was cut short).
STOPSIGNAL SIGINT

EXPOSE 8000
CMD ["uvicorn", "service.api:app", "--host", "0.0.0.0", "--port", "8000"]
