#!/usr/bin/env bash
# The documentation site builds with no warning (mkdocs --strict: broken links,
# missing pages and bad includes fail).
set -euo pipefail
if ! .venv/bin/python -c "import mkdocs, material" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet -e ".[docs]"
fi
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir "$site"
