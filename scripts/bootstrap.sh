# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
#
# Sourced by scripts/demo, scripts/test and .ci/run: installs what the module
# needs on a fresh machine, and reuses what is already there.
#
#   ROOT        the repository (the module)
#   VENV        the virtual environment (default: $ROOT/.venv)
#   VAR         run-time files: configuration, demo database, web client
#               (default: $ROOT/var)
#   CACHE       caches shared by clones, e.g. test databases
#               (default: ${XDG_CACHE_HOME:-$HOME/.cache}/sale_flow)

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${SALE_FLOW_VENV:-$ROOT/.venv}
VAR=${SALE_FLOW_VAR:-$ROOT/var}
CACHE=${SALE_FLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sale_flow}
PY=$VENV/bin/python
SAO_SERIES=8.0

say() { printf '\033[1m[sale_flow]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[sale_flow] %s\033[0m\n' "$*" >&2; exit 1; }

# Debian packages, installed only when missing.  Needs root (or sudo).
ensure_debs() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
            | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null \
            || die "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null \
        || die "missing system packages: ${missing[*]} (no apt-get here: install them with your system's package manager)"
    say "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq >/dev/null \
        || die "apt-get update failed: install ${missing[*]} by hand"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

# The virtual environment with the pinned Tryton 8.0 packages and the module.
# The module is installed with pip (so that packaging is exercised), then its
# installed copy is replaced by a link to the working tree.
ensure_venv() {
    local stamp want
    if [ ! -x "$PY" ]; then
        say "creating the virtual environment in $VENV"
        command -v python3 >/dev/null || ensure_debs python3 python3-venv
        python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
    fi
    stamp=$VENV/.sale_flow-installed
    want=$(cat "$ROOT/setup.py" "$ROOT/pyproject.toml" "$ROOT/tryton.cfg" \
        "$ROOT/scripts/requirements.txt" \
        | sha256sum | cut -c1-16)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing the module and Tryton 8.0 into the virtual environment"
        "$PY" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
        (cd "$ROOT" && "$PY" -m pip install -q --disable-pip-version-check \
            ".[test,postgresql]" -r scripts/requirements.txt) \
            || die "pip install failed (see the messages above)"
        echo "$want" > "$stamp"
    fi
    local modules
    modules=$("$PY" -c 'import os, trytond.modules as m; print(os.path.dirname(m.__file__))')
    if [ "$(readlink "$modules/sale_flow" 2>/dev/null)" != "$ROOT" ]; then
        rm -rf "$modules/sale_flow"
        ln -s "$ROOT" "$modules/sale_flow"
    fi
}

# The sao web client of the same series, from npm, unpacked once.
ensure_sao() {
    SAO=$VAR/sao/package
    if [ -f "$SAO/index.html" ] && [ -d "$SAO/node_modules" ]; then
        install_sao_custom
        return 0
    fi
    command -v npm >/dev/null || ensure_debs npm
    say "downloading the web client tryton-sao@$SAO_SERIES from npm"
    rm -rf "$VAR/sao" && mkdir -p "$VAR/sao"
    (cd "$VAR/sao" && npm pack --silent "tryton-sao@$SAO_SERIES" >/dev/null \
        && tar xzf tryton-sao-*.tgz && rm -f tryton-sao-*.tgz \
        && cd package \
        && npm install --silent --omit=dev --legacy-peer-deps >/dev/null) \
        || die "could not install tryton-sao@$SAO_SERIES from npm"
    # An empty custom.css silences a 404/405 in the browser.
    touch "$SAO/custom.css"
    install_sao_custom
}

# The module's customisation of sao (sao/custom.js: a fix of the selection
# widget), loaded by sao's index.html.
install_sao_custom() {
    cp "$ROOT/sao/custom.js" "$SAO/custom.js"
}

# A folder for the test databases cache that changes whenever what the
# cached databases are built from changes (module files, packages).
db_cache_dir() {
    local key
    key=$( (cd "$ROOT" && cat tryton.cfg ./*.xml ./*.py view/*.xml locale/*.po locale/override/*.po \
        tests/tools.py 2>/dev/null; "$PY" -m pip freeze --exclude trytond_sale_flow 2>/dev/null; true) \
        | sha256sum | cut -c1-16)
    echo "$CACHE/db-cache/$key"
}

# Keep the cache folders used lately only: the folder of this run is marked
# as used; the folders not used for a week go, and so do all but the eight
# used last.  (Several clones share the cache, each with its own folder
# while their files differ: keeping only the last few made one clone's run
# throw away the databases of another, whose next run was cold again.)
prune_db_cache() {
    local dir=$CACHE/db-cache current=${1:-}
    [ -d "$dir" ] || return 0
    [ -z "$current" ] || [ ! -d "$current" ] || touch "$current"
    {
        ls -1t "$dir" | tail -n +9
        find "$dir" -mindepth 1 -maxdepth 1 -type d -mtime +7 -printf '%f\n'
    } | sort -u | while read -r old; do
        [ "$dir/$old" = "$current" ] || rm -rf "${dir:?}/$old"
    done
}
