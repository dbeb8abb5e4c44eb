# Two images from one file (see docker-compose.yml; `docker compose --profile tests build`):
#   stage  what serves a stage: Python, the runtime packages from uv.lock, the four stage folders.
#          No uv, no browser: the four stage services and the scaling pair.
#   tests  Python, uv, redis-server, Chromium, chromedriver, every package the test command needs
#          and the repo: the `tests` service, and the `learner` service where a learner runs
#          tools/start.py and tools/check.py.
FROM python:3.12-slim-bookworm AS base

# The venv lives outside /app, so bind-mounted stage folders (or the whole repo) never hide it and
# a host .venv is never used inside the container.
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /app

# uv only installs the locked runtime packages; the stage image takes the venv, not uv. Bytecode
# is compiled here, once: PYTHONDONTWRITEBYTECODE keeps the servers from writing it.
FROM base AS runtime
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-default-groups --compile-bytecode && rm -rf /root/.cache/uv

FROM base AS stage
COPY --from=runtime /opt/venv /opt/venv
COPY tools/run-as-owner.sh /usr/local/bin/run-as-owner.sh
COPY part1_echo/ part1_echo/
COPY part2_groups/ part2_groups/
COPY part3_async/ part3_async/
COPY part4_tests/ part4_tests/
EXPOSE 8000
# With `docker run`, add --init (compose sets `init: true`): an init as PID 1 passes SIGTERM on
# to runserver's autoreloader, which stops its server child.
ENTRYPOINT ["sh", "/usr/local/bin/run-as-owner.sh"]
CMD ["python", "part1_echo/manage.py", "runserver", "0.0.0.0:8000"]

# From base, not from stage: editing a stage must not reinstall Chromium.
FROM base AS tests
COPY --from=runtime /usr/local/bin/uv /usr/local/bin/uv
# The same script CI and laptops use (uv is already here): redis-server, Chromium and
# chromedriver; docker-compose too, as in CI: a quick test resolves docker-compose.yml with it.
# And git, which a clone has everywhere else: the quick tier runs `git apply` on the Beyond diffs
# and `git ls-files`, and a learner in the learner service applies those diffs with it.
COPY tools/install-system-deps.sh tools/install-system-deps.sh
RUN bash tools/install-system-deps.sh docker-compose git \
    && rm -rf /var/lib/apt/lists/* /root/.cache/pip
# The runtime venv, plus every group but the benchmark's: the test command also lints and checks
# the docs.
COPY --from=runtime /opt/venv /opt/venv
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --all-groups --no-group bench --compile-bytecode && rm -rf /root/.cache/uv
COPY tools/run-as-owner.sh /usr/local/bin/run-as-owner.sh
COPY . .
ENTRYPOINT ["sh", "/usr/local/bin/run-as-owner.sh"]
CMD ["uv", "run", "pytest"]
