#!/usr/bin/env bash
# Install cityservices' runtime into a virtual environment, exactly as production runs it: the locked,
# hash-checked runtime set (requirements/main.txt, made by scripts/lock.sh) and then our wheel, without
# dependencies, so that nothing but the locked set can satisfy an import.
#
#     scripts/install-runtime.sh VENV REQUIREMENTS [WHEEL]
#
# The Dockerfile installs through this script (the requirements alone first, a layer of their own, then
# the wheel), and so does the production smoke of .ci/run (scripts/smoke/production.sh): what CI proves
# is what the image runs. VENV is made if missing, with $PYTHON (default python3).
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 VENV REQUIREMENTS [WHEEL]" >&2
  exit 2
fi
venv=$1 requirements=$2 wheel=${3:-}
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$requirements"
if [ -n "$wheel" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$wheel"
  # Every requirement the installed distributions declare is met by what is installed.
  "$venv/bin/python" -m pip check
fi
