#!/usr/bin/env bash
# Rewrites deploy/image/requirements.lock: what `pip install .` takes today into a clean
# Python 3.11 venv, pinned. Run after changing pyproject.toml's dependencies.
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --upgrade "pip==26.3"
# The image runs Debian bookworm's python3 (3.11.2): constraints.txt keeps out releases that need more.
"$scratch/venv/bin/pip" install --quiet --constraint deploy/image/constraints.txt .
{
    echo "# The image's Python dependencies, pinned: \`pip freeze\` of a clean Python 3.11 venv (linux x86_64)"
    echo "# after \`pip install .\`, the project itself excluded. Regenerate with deploy/image/lock.sh."
    "$scratch/venv/bin/pip" freeze --exclude trawl
} > deploy/image/requirements.lock
