# lib.sh — shell helpers the hack/ scripts share (sourced; the caller defines `log`).

# apt_install PKG...: install Debian packages quietly (nothing when none is given).
apt_install() {
  [ $# -gt 0 ] || return 0
  log "apt-get install $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
