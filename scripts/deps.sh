#!/usr/bin/env bash
# Install the Debian packages that refx needs to build, run and test.
#
#   scripts/deps.sh                 # the standard list
#   scripts/deps.sh litmus rclone   # the standard list plus extra packages
#
# Exits 0 at once (no apt-get update) when everything is installed already.
# As root, missing packages are installed non-interactively. Otherwise the
# single command to run is printed and the script exits 1.
set -euo pipefail

PACKAGES=(
    build-essential pkg-config
    libfcgi-dev libfcgi-bin nginx-light postgresql-15 libpq-dev
    libssl-dev libjansson-dev libxml2-dev libargon2-dev liboath-dev
    libcmocka-dev libcurl4-openssl-dev libqrencode-dev uuid-dev libinih-dev
    python3-pytest python3-requests curl ca-certificates libutf8proc-dev
    litmus nextcloud-desktop-cmd rclone python3-aiosmtpd
    chromium nodejs wrk clang-14 libclang-rt-14-dev
)

for extra in "$@"; do
    if [[ ! $extra =~ ^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$ ]]; then
        echo "deps.sh: not a Debian package name: '$extra'" >&2
        exit 2
    fi
    PACKAGES+=("$extra")
done

is_installed() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [[ $status == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
# npm for the browser suite's playwright-core: Debian's package, unless a
# nodejs build that bundles npm is installed already.
command -v npm >/dev/null 2>&1 || is_installed npm || missing+=(npm)

if ((${#missing[@]} == 0)); then
    exit 0
fi

if ((EUID != 0)); then
    echo "deps.sh: missing packages; run:" >&2
    echo "sudo apt-get install -y ${missing[*]}"
    exit 1
fi

nginx_was_installed=0
if is_installed nginx-common || is_installed nginx-light || is_installed nginx-core || is_installed nginx; then
    nginx_was_installed=1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y -o DPkg::Lock::Timeout=600 "${missing[@]}"

# Debian starts the system nginx on port 80 right after installing it. refx runs
# its own nginx with a private config (scripts/stack.sh), so turn the system
# service off again, but only when this run installed it.
if ((nginx_was_installed == 0)) && is_installed nginx-common; then
    echo "deps.sh: stopping and disabling the system nginx service"
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
        systemctl disable --now nginx.service >/dev/null 2>&1 || true
    else
        if [[ -x /etc/init.d/nginx ]]; then
            /etc/init.d/nginx stop >/dev/null 2>&1 || true
        fi
        if command -v update-rc.d >/dev/null 2>&1; then
            update-rc.d nginx disable >/dev/null 2>&1 || true
        fi
    fi
    # Without an init system the service may have been started directly.
    if [[ -s /run/nginx.pid ]]; then
        pid=$(cat /run/nginx.pid 2>/dev/null || true)
        if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            kill -QUIT "$pid" 2>/dev/null || true
        fi
    fi
fi

still_missing=()
for pkg in "${missing[@]}"; do
    is_installed "$pkg" || still_missing+=("$pkg")
done
if ((${#still_missing[@]} > 0)); then
    echo "deps.sh: still missing after install: ${still_missing[*]}" >&2
    exit 1
fi
echo "deps.sh: all packages installed"
