#!/usr/bin/env bash
# Installs every Debian package that building, testing and building the golden image need.
# Idempotent: asks apt only for what is missing, runs `apt-get update` at most once, and
# starts no service (the tests and .ci/run start the daemons they need themselves).
#
# Usage: sudo eng/install-prerequisites.sh        (Debian 12; root)
set -euo pipefail

log() { printf '[install-prerequisites] %s\n' "$*"; }

if [[ ${EUID} -ne 0 ]]; then
    log "must run as root (apt-get install); run: sudo $0" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    log "apt-get/dpkg-query not found: this script supports Debian (12) only" >&2
    exit 1
fi

# Keep this list in sync with LocalPrerequisites.RequiredPackages (src/Provisioner.Engine/LocalHost).
packages=(
    # libvirt host and guests under qemu
    libvirt-daemon-system libvirt-clients libvirt0 qemu-system-x86 qemu-utils dnsmasq-base
    # golden image build (images/debian-12/build.sh)
    debootstrap e2fsprogs fdisk grub-pc-bin util-linux coreutils
    # cloud-init seed images and test fixtures
    genisoimage xorriso dosfstools mtools
    # host firewall, networking and SSH used by live tests
    nftables iproute2 iptables openssh-server openssh-client
    ca-certificates
)

# Only the test suites need these (real checkers and fixtures: cloud-init's own schema and NoCloud
# reader, ISO readers, sudo for the non-root SSH tests, packet tools for the firewall proofs); the
# tool itself does not, so LocalPrerequisites does not list them.
test_packages=(
    sudo cloud-init python3-yaml libxml2-utils p7zip-full fuseiso fuse
    socat netcat-openbsd conntrack busybox-static e2fsprogs
)

missing=()
for p in "${packages[@]}" "${test_packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ ${status} == ii* ]] || missing+=("$p")
done

# Node.js is needed for the Pulumi stub conformance tests; many machines ship their own build
# (e.g. NodeSource), so only install Debian's when there is no node at all.
if command -v node >/dev/null 2>&1; then
    log "node $(node --version) already present"
else
    missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    log "all ${#packages[@]} packages already installed; nothing to do"
    exit 0
fi

log "missing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Package maintainer scripts would start sshd/libvirtd/etc. on a machine without systemd.
# A temporary policy-rc.d forbids that, unless the machine already has its own policy.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e ${policy} ]]; then
    printf '#!/bin/sh\n# temporary, by eng/install-prerequisites.sh\nexit 101\n' >"${policy}"
    chmod 0755 "${policy}"
    own_policy=1
fi
cleanup() { if [[ ${own_policy} -eq 1 ]]; then rm -f "${policy}"; fi; }
trap cleanup EXIT

# Wait for a concurrent apt run (another job on the same machine) instead of failing at once.
apt_opts=(-o DPkg::Lock::Timeout=600)
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" </dev/null

log "installed: ${missing[*]}"
