#!/bin/sh
# Start as root only to make cache/ and logs/ writable by the `router` user whatever the host
# ownership of the mounted directories, then drop to `router` for good. Started with
# `--user`/`user:` already, it changes nothing and runs the gateway as that user.
set -eu
if [ "$(id -u)" = "0" ]; then
  for dir in /app/cache /app/logs; do
    mkdir -p "$dir"
    chown -R router:router "$dir"
  done
  exec setpriv --reuid=router --regid=router --init-groups smart-ai-router "$@"
fi
exec smart-ai-router "$@"
