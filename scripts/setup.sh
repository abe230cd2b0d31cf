#!/usr/bin/env bash
# Installs the Debian packages Strata's tools and tests need, only when they are missing.
# Sourced by scripts/test and scripts/strata; safe to run on its own.
set -euo pipefail

strata_missing_packages() {
    local missing=()
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
    command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
    command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
    # The edge tests run a real Varnish with vmod xkey (StrataHummingbird).
    command -v varnishd >/dev/null 2>&1 || [ -x /usr/sbin/varnishd ] || missing+=(varnish)
    [ -f /usr/lib/x86_64-linux-gnu/varnish/vmods/libvmod_xkey.so ] \
        || ls /usr/lib/*/varnish/vmods/libvmod_xkey.so >/dev/null 2>&1 || missing+=(varnish-modules)
    # The CZlib and CSQLite system-library targets compile against these headers.
    [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
    [ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
    command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
    printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' '
}

strata_setup() {
    local missing
    missing=$(strata_missing_packages)
    if [ -n "${missing// /}" ]; then
        echo "setup: installing Debian packages: $missing" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
    fi
    if ! command -v swift >/dev/null 2>&1; then
        echo "setup: the Swift toolchain (6.1 or newer) must be on PATH" >&2
        exit 1
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    strata_setup
fi
