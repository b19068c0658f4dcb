#!/usr/bin/env bash
# Builds the Python package into a private virtualenv and runs its pytest suite
# (Gymnasium's check_env, PettingZoo's parallel_api_test, vector-env equality).
# Needs python3 with venv and pip, Rust >= 1.95 (cargo), and network access to PyPI and crates.io.
set -euo pipefail
cd "$(dirname "$0")"
venv="$(realpath -m "${SYNTHGYM_TEST_VENV:-$PWD/target/test-venv}")"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "gymnasium>=1.1" "pettingzoo>=1.24" numpy pytest
"$venv/bin/pip" install --quiet .
# Run from outside the source tree so `import synthgym` finds the installed package.
cd "$venv"
"$venv/bin/python" -m pytest -q "$OLDPWD/tests"
