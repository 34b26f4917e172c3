#!/usr/bin/env sh
# The image's install steps (deploy/Dockerfile's build stage runs them):
#   deploy/image/install-app.sh deps VENV SOURCE_DIR   pinned build tools and dependencies
#   deploy/image/install-app.sh app  VENV SOURCE_DIR   the project, then pip's consistency check
#   deploy/image/install-app.sh all  VENV SOURCE_DIR   both
# Two phases so that the image's dependency layer is rebuilt only when the lock changes.
# --no-deps everywhere: nothing outside the lock gets in; the project is built with the pinned
# setuptools rather than whatever build isolation would fetch.
set -eu
phase=$1
venv=$2
source_dir=$3
if [ "$phase" = deps ] || [ "$phase" = all ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade "pip==26.3" "setuptools==80.9.0" "wheel==0.45.1"
    "$venv/bin/pip" install --quiet --no-deps --requirement "$source_dir/deploy/image/requirements.lock"
fi
if [ "$phase" = app ] || [ "$phase" = all ]; then
    "$venv/bin/pip" install --quiet --no-deps --no-build-isolation "$source_dir"
    "$venv/bin/pip" check
fi
