#!/usr/bin/env bash
# install-deps.sh — installs what building and testing tidepool needs on
# Debian 12, and only what is missing: quiet and fast when all is there
# (make test and make run call it every time).
#
#   build:        compiler, cmake, the -dev libraries
#   test clients: AWS CLI v2 (Debian's awscli), boto3, pytest, PyYAML,
#                 Node.js + npm and the JS SDK (tests/integration/js)
#   browser:      chromium, which the Playwright tests of the live view and
#                 the report drive headless (tests/integration/js/ui.playwright.mjs);
#                 a chromium already on PATH is used as is
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

build_pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libsqlite3-dev libcjson-dev
            uuid-dev libcmocka-dev libssl-dev zlib1g-dev libcbor-dev libcurl4-openssl-dev
            clang libclang-rt-dev    # clang: the fuzz targets (tests/fuzz)
            zip unzip)               # bootstrap zips: make lambda-zip, process handlers
client_pkgs=(awscli python3-boto3 python3-pytest python3-yaml python3-cbor2)

# A node >= 18 with npm already on PATH (e.g. from NodeSource) is used as is;
# otherwise Debian's nodejs and npm are installed.
node_ok() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
    [ "${major:-0}" -ge 18 ]
}

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

wanted=("${build_pkgs[@]}" "${client_pkgs[@]}")
node_ok || wanted+=(nodejs npm)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || wanted+=(chromium)

missing=()
for p in "${wanted[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "install-deps: missing ${missing[*]}, and not root without sudo: install them by hand" >&2
            exit 1
        fi
    fi
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The JS SDK: npm ci when node_modules is missing or older than the lockfile.
js="$root/tests/integration/js"
if [ -f "$js/package-lock.json" ] && command -v npm >/dev/null 2>&1; then
    stamp="$js/node_modules/.package-lock.json"
    if [ ! -f "$stamp" ] || [ "$js/package-lock.json" -nt "$stamp" ]; then
        echo "install-deps: npm ci in tests/integration/js"
        (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
fi
