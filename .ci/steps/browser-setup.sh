#!/usr/bin/env bash
# Browser tests' prerequisites: Debian's Chromium (Playwright drives it; it cannot
# download its own browsers here), an emoji font for readable screenshots, and,
# in the git-ignored .tmp/node_modules, the CSS of the bar's themes (Fomantic-UI,
# with jQuery for the original page, and Bootstrap 5), htmx (the fragment tests)
# and acorn (the ES2017 syntax check). Idempotent; quick when done.
set -euo pipefail

packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Color Emoji" || packages+=(fonts-noto-color-emoji)
if [ "${#packages[@]}" -gt 0 ]; then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${packages[@]}"
fi
test -x /usr/bin/chromium

modules=.tmp/node_modules
if [ ! -f "$modules/fomantic-ui-css/semantic.min.css" ] \
    || [ ! -f "$modules/jquery/dist/jquery.min.js" ] \
    || [ ! -f "$modules/bootstrap/dist/css/bootstrap.min.css" ] \
    || [ ! -f "$modules/htmx.org/dist/htmx.min.js" ] \
    || [ ! -f "$modules/acorn/package.json" ]; then
    mkdir -p .tmp
    npm install --prefix .tmp --no-audit --no-fund --loglevel=error \
        fomantic-ui-css "bootstrap@5" "htmx.org@2" acorn
fi
test -f "$modules/fomantic-ui-css/semantic.min.css"
test -f "$modules/jquery/dist/jquery.min.js"
test -f "$modules/bootstrap/dist/css/bootstrap.min.css"
test -f "$modules/htmx.org/dist/htmx.min.js"
echo "browser test prerequisites ready"
