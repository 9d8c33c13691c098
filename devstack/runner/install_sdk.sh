#!/usr/bin/env bash
# Install the pure-Python `workers` SDK (PyPI `workers-runtime-sdk`) where the Pyodide runner
# mounts it: .cache/pyodide-site/. The runner never reads the host's site-packages (a module
# Pyodide lacks must fail locally as it does on Cloudflare), so the SDK gets its own folder.
#
# The version is the one pinned in pyproject.toml's dev group, so the runner, CI and a
# developer's `pywrangler sync` agree. Idempotent: a marker file records what is installed and
# the script does nothing when it already matches.
#
# Usage: bash devstack/runner/install_sdk.sh [PYTHON]   (PYTHON defaults to .venv/bin/python)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${1:-$root/.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"
target="$root/.cache/pyodide-site"

version="$(sed -n 's/^[[:space:]]*"workers-runtime-sdk==\([^"]*\)".*/\1/p' "$root/pyproject.toml" | head -n1)"
if [ -z "$version" ]; then
  echo "install_sdk: no workers-runtime-sdk==X pin in pyproject.toml" >&2
  exit 1
fi

marker="$target/.installed-workers-runtime-sdk"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$version" ] && [ -f "$target/workers/__init__.py" ]; then
  echo "install_sdk: workers-runtime-sdk $version already in ${target#"$root"/}"
  exit 0
fi

# Install into a scratch folder, then swap it in, so an interrupted run never leaves a
# half-installed SDK that the marker would later vouch for.
scratch="$(mktemp -d "$root/.cache/pyodide-site.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$root/.cache"; mktemp -d "$root/.cache/pyodide-site.tmp.XXXXXX"; })"
trap 'rm -rf "$scratch"' EXIT
# --no-compile: the host's .pyc files (CPython 3.11) are useless to Pyodide (Python 3.13).
"$python" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
  --target "$scratch" "workers-runtime-sdk==$version"
echo "$version" > "$scratch/.installed-workers-runtime-sdk"
rm -rf "$target"
mv "$scratch" "$target"
trap - EXIT
echo "install_sdk: installed workers-runtime-sdk $version into ${target#"$root"/}"
