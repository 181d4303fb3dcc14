#!/usr/bin/env bash
# The terminal tests' prerequisite: tmux (tests/test_watch.py drives
# `manage.py progress_watch` in it). Idempotent; quick when done.
set -euo pipefail

if ! command -v tmux >/dev/null 2>&1; then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq tmux
fi
tmux -V
