# Shared by tools/demo and tools/test: install what is missing, then build.
# Sourced, not run.

CLGAN_PACKAGES="pocl-opencl-icd ocl-icd-opencl-dev opencl-c-headers libclblast-dev libyaml-dev
  libplplot-dev plplot-driver-cairo zlib1g-dev libcmocka-dev meson ninja-build pkg-config gcc
  python3 clinfo"

# Installs the Debian packages that are not installed yet (needs root or sudo).
clgan_install_deps() {
  local missing=""
  for p in $CLGAN_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "clgan: installing:$missing" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
}

# Configures (once) and builds into $CLGAN_BUILD_DIR (default: build).
# CLGAN_WERROR=1 turns warnings into errors, as CI does.
clgan_build() {
  local dir=${CLGAN_BUILD_DIR:-build}
  local werror=false
  [ "${CLGAN_WERROR:-0}" = 1 ] && werror=true
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" -Dwerror=$werror >/dev/null
  else
    meson setup "$dir" -Dwerror=$werror >/dev/null
  fi
  ninja -C "$dir" >&2
}
