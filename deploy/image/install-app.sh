#!/usr/bin/env sh
# The image's install steps, also run by tests/deploy/test_image.py into a clean venv: the
# pinned dependencies first (--no-deps: nothing outside the lock gets in), then the project,
# built with pinned build tools rather than whatever build isolation would fetch, then pip's
# own consistency check.
#   deploy/image/install-app.sh VENV SOURCE_DIR
set -eu
venv=$1
source_dir=$2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade "pip==26.3" "setuptools==80.9.0" "wheel==0.45.1"
"$venv/bin/pip" install --quiet --no-deps --requirement "$source_dir/deploy/image/requirements.lock"
"$venv/bin/pip" install --quiet --no-deps --no-build-isolation "$source_dir"
"$venv/bin/pip" check
