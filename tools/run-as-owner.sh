#!/bin/sh
# The tests image's entrypoint: run the command as the owner of the working directory (the clone,
# mounted at /app), so what it writes there (workspace/ from tools/start.py, a db.sqlite3) belongs
# to the learner on a Linux host, not to root. Docker Desktop shows the mount as root's or as the
# learner's; either way the files stay editable on the laptop.
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
