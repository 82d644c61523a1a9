# Sourced by bin/demo and bin/test: finds Python 3.12+ and prepares .venv with the given requirements file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Prints the real executable (not a pyenv shim) of the first Python 3.12+ found.
real_python() {
    "$1" -c 'import sys; assert sys.version_info >= (3, 12); print(sys.executable)' 2>/dev/null
}

find_python() {
    local candidate
    for candidate in python3.13 python3.12; do
        command -v "$candidate" >/dev/null 2>&1 && real_python "$candidate" && return 0
    done
    # pyenv's versions, also when pyenv is installed but not on this shell's PATH (a plain or cron shell).
    local root="${PYENV_ROOT:-$HOME/.pyenv}"
    command -v pyenv >/dev/null 2>&1 && root="$(pyenv root)"
    for candidate in "$root"/versions/3.13*/bin/python3 "$root"/versions/3.12*/bin/python3; do
        [ -x "$candidate" ] && real_python "$candidate" && return 0
    done
    if command -v uv >/dev/null 2>&1; then
        candidate="$(uv python find '>=3.12' 2>/dev/null || true)"
        [ -n "$candidate" ] && real_python "$candidate" && return 0
    fi
    command -v python3 >/dev/null 2>&1 && real_python python3 && return 0
    return 1
}

prepare_venv() {
    local requirements="$1" python stamp
    # JIRASYNC_NO_INSTALL=1: use .venv as it is (a shared or prepared one; the demo's own test does).
    [ -n "${JIRASYNC_NO_INSTALL:-}" ] && [ -x .venv/bin/python ] && return 0
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
        if ! python="$(find_python)"; then
            echo "jirasync needs Python 3.12 or 3.13 (Django 6 does not support older versions)." >&2
            echo "Install one: 'pyenv install 3.13', 'uv python install 3.13', or your system's python3.13 package." >&2
            exit 1
        fi
        rm -rf .venv
        "$python" -m venv .venv
    fi
    # Reinstall only when the requirements changed since the last install.
    stamp=".venv/.installed-$(cat requirements*.txt | sha1sum | cut -c1-12)-$(basename "$requirements")"
    if [ ! -f "$stamp" ]; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
        touch "$stamp"
    fi
}

# Installs a Debian package for the tests when a command is missing and this user may; otherwise the
# tests that need it skip and say why (CI requires them).  apt_ensure COMMAND PACKAGE WHAT
apt_ensure() {
    local command="$1" package="$2" what="$3" sudo=""
    command -v "$command" >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || return 0
    if [ "$(id -u)" != 0 ]; then
        sudo -n true 2>/dev/null || { echo "$command is missing and apt needs root: $what will skip" >&2; return 0; }
        sudo="sudo -n"
    fi
    echo "Installing Debian's $package for $what..." >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null 2>&1 \
        || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null 2>&1; } \
        || echo "could not install $package: $what will skip" >&2
}

# The admin's browser tests drive Debian's chromium (never a downloaded browser).
ensure_chromium() { apt_ensure /usr/bin/chromium chromium "the browser tests"; }

# The alert-rule tests evaluate deploy/prometheus/alerts.yml with Debian's promtool (package prometheus).
ensure_promtool() { apt_ensure promtool prometheus "the alert-rule tests"; }
