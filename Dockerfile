# One image for every workshop service: the four stages, the scaling example and the tests.
# Build: docker compose build   (see docs/instructor.md)
FROM python:3.12-slim-bookworm

# The venv lives outside /app, so bind-mounted stage folders (or the whole repo, for the tests)
# never hide it and a host .venv is never used inside the container.
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /app

# The same script CI and laptops use: uv, redis-server, Chromium and chromedriver; docker-compose
# too, as in CI, so the tests service can run every test (it validates docker-compose.yml).
COPY tools/install-system-deps.sh tools/install-system-deps.sh
RUN bash tools/install-system-deps.sh docker-compose && rm -rf /var/lib/apt/lists/* /root/.cache/pip

# Dependencies first, so editing a stage does not reinstall them.
COPY pyproject.toml uv.lock ./
# The tests service runs every test with CI=true, linters and the docs build too: the dev group.
RUN uv sync --frozen --group dev && rm -rf /root/.cache/uv

COPY . .

EXPOSE 8000
# With `docker run`, add --init (compose sets `init: true`): an init as PID 1 passes SIGTERM on
# to `uv run` and reaps what is left.
CMD ["uv", "run", "python", "part1_echo/manage.py", "runserver", "0.0.0.0:8000"]
