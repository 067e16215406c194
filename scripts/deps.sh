#!/usr/bin/env bash
# Installs everything the build and the tests need; safe to run again.
# Debian packages, the Debian source packages of lwIP, BearSSL and libsodium
# (checked against scripts/deps.sha256) and the npm dev dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

APT_PACKAGES="build-essential clang lld libclang-rt-14-dev llvm emscripten binaryen dpkg-dev xz-utils
 chromium nginx-light dnsmasq-base ca-certificates openssl python3-httpbin gunicorn valgrind curl"

die() { echo "make deps: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else die "needs root to run '$*'; as root run: apt-get install $APT_PACKAGES"
  fi
}

missing_packages() {
  local p
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

ensure_deb_src() {
  # apt-get source needs a deb-src entry beside each deb one.
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    if grep -q '^Types: deb$' "$f"; then
      as_root sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"; apt_updated=0
    fi
  done
  if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list \
     && ! grep -q '^deb-src ' /etc/apt/sources.list; then
    grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' | as_root tee -a /etc/apt/sources.list >/dev/null
    apt_updated=0
  fi
}

apt_updated=0
apt_update() {
  [ $apt_updated = 1 ] && return
  as_root apt-get update -qq || die "apt-get update failed: is Debian's archive reachable?"
  apt_updated=1
}

missing=$(missing_packages | tr '\n' ' ')
if [ -n "${missing// }" ]; then
  echo "make deps: installing $missing"
  apt_update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
    || die "apt-get install failed; install by hand: $missing"
fi

# Dependency sources: Debian source package, its version, folder under third_party/.
fetch_source() {
  local pkg=$1 version=$2 dir=$3 f
  [ -f "third_party/$dir/.verified" ] && return 0
  mkdir -p third_party/download
  cd third_party/download
  if [ ! -f "${pkg}_${version}.dsc" ]; then
    ensure_deb_src
    apt_update
    apt-get source --download-only -qq "$pkg=$version" 2>/dev/null \
      || die "apt-get source $pkg=$version failed: add a deb-src entry for Debian bookworm and retry"
  fi
  # every tarball of the package must match its pinned sum
  for f in "${pkg}_"*.tar.*; do
    grep -qF "  $f" "$top/scripts/deps.sha256" || die "$f has no pinned SHA-256 in scripts/deps.sha256"
  done
  grep -F "  ${pkg}_" "$top/scripts/deps.sha256" | sha256sum --quiet -c - \
    || die "SHA-256 mismatch for the $pkg sources; delete third_party/download and retry"
  rm -rf "../$dir"
  dpkg-source --no-check -q -x "${pkg}_${version}.dsc" "../$dir" >/dev/null
  cd "$top"
  touch "third_party/$dir/.verified"
}

# LWIP_SRC=, BEARSSL_SRC=, SODIUM_SRC= point at other copies; the defaults are fetched
source_or_fetch() {
  local dir=$1 pkg=$2 version=$3 name=$4
  if [ "$dir" = "third_party/$name" ]; then fetch_source "$pkg" "$version" "$name"
  elif [ ! -d "$dir" ]; then die "$dir (given for $pkg) is not a folder"
  fi
}
source_or_fetch "${LWIP_SRC:-third_party/lwip}" lwip 2.1.3+dfsg1-2 lwip
source_or_fetch "${BEARSSL_SRC:-third_party/bearssl}" bearssl 0.6+dfsg.1-3 bearssl
source_or_fetch "${SODIUM_SRC:-third_party/libsodium}" libsodium 1.0.18-1+deb12u1 libsodium

if [ -f package.json ] && { [ ! -d node_modules ]  || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed: is the npm registry reachable?"
fi
