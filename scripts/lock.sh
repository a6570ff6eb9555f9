#!/usr/bin/env bash
# Regenerate the hashed lock files from pyproject.toml (pip-tools), for CPython 3.11 on Linux x86-64 (the
# image's and CI's platform). Run after changing a dependency, and commit the result:
#     bash scripts/lock.sh            # keep current pins where pyproject allows them
#     bash scripts/lock.sh --upgrade  # move every pin to the newest allowed release
# requirements/main.txt is what the image installs; requirements/test.txt is what CI installs.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
"$python" -m piptools --version >/dev/null 2>&1 || .venv/bin/pip install -q "pip-tools>=7.4"
common=(--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
        --no-emit-trusted-host --resolver=backtracking "$@")
"$python" -m piptools compile "${common[@]}" --output-file requirements/main.txt pyproject.toml
"$python" -m piptools compile "${common[@]}" --extra test --extra demo --output-file requirements/test.txt pyproject.toml
# A new venv's pip (23.2 with Python 3.11) in --require-hashes mode takes an extra's requirement as unpinned
# once a newer release than the pin exists (pip-audit asks for CacheControl[filecache]; refused on 2026-12-07,
# once the registry offered cachecontrol 0.15.0): the extra stays on its pinned line.
sed -i 's/^cachecontrol==/cachecontrol[filecache]==/' requirements/test.txt
