#!/bin/sh
# The images' entrypoint: run the command as the owner of the working directory (a mounted stage
# folder, or the whole clone for the tests and learner services), so what it writes there
# (workspace/ from tools/start.py, a db.sqlite3) belongs to the learner on a Linux host, not to
# root, and a stage server and the learner's shell can both write it. Docker Desktop shows a mount
# as root's or as the learner's; either way the files stay editable on the laptop.
set -eu
uid=$(stat -c %u .)
gid=$(stat -c %g .)
if [ "$(id -u)" = 0 ] && [ "$uid" != 0 ]; then
    # A HOME this user can write: uv's cache, Chromium's profile.
    HOME="/tmp/home-$uid"
    export HOME
    mkdir -p "$HOME"
    chown "$uid:$gid" "$HOME"
    exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
fi
exec "$@"
