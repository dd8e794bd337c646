#!/usr/bin/env bash
# Installs the Debian packages that building semper needs, when they are missing.
#
#   build-essential      C and C++ compilers, and make: Rust links with cc; RocksDB is C++
#   pkg-config           how openssl-sys finds the system's OpenSSL
#   libssl-dev           OpenSSL: the issuer's RSA signing and the hot-path RSA verification
#   clang, libclang-dev  bindgen, for librocksdb-sys
#
# Quiet and quick when everything is there. Runs `apt-get update` once, and only when something is
# missing. Uses sudo when not root. On a system without dpkg it only says what it would need.
# Arguments name more packages to ensure, e.g. `scripts/install-deps.sh curl`.
set -euo pipefail

packages=(build-essential pkg-config libssl-dev clang libclang-dev "$@")

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: not a Debian system; make sure these (or their equivalents) are installed:" \
        "${packages[*]}" >&2
    exit 0
fi

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
        missing+=("$package")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-deps: missing ${missing[*]}; run this as root, or install sudo" >&2
        exit 1
    fi
    # Without a terminal (CI), fail at once rather than wait for a password nobody can type.
    if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
fi

echo "install-deps: installing ${missing[*]}" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
