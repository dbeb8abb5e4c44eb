#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine (or the Docker image) lacks to run every test:
# uv (via pip), redis-server, Chromium and chromedriver (via apt-get). Skips what is already there.
# Usage: bash tools/install-system-deps.sh [extra-apt-package ...]
set -euo pipefail

if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet uv
fi

packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || packages+=(chromium-driver)
# Extra apt packages named as arguments, each installed when its command is missing
# (CI and the Docker image pass docker-compose, which tools/tests/test_compose.py uses).
for extra in "$@"; do
    command -v "$extra" >/dev/null 2>&1 || packages+=("$extra")
done

if [ ${#packages[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi
