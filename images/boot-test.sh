#!/usr/bin/env bash
# Boot proof for a golden image: boots a throw-away overlay of IMAGE under qemu's software
# emulation (TCG) with a NoCloud seed, waits until cloud-init has finished, then logs in over
# SSH with a key from the seed while pinning the host key the seed injected (no trust on first
# use). Prints timings and the guest's self-checks; exits non-zero on any failure.
#
# Usage: images/boot-test.sh IMAGE.qcow2 [virtio|nvme] [TIMEOUT_SECONDS] [pc|q35]
# BOOT_TEST_SERIAL_LOG=FILE keeps a copy of the guest's serial console.
# BOOT_TEST_CPUS=N gives the guest N vCPUs (default 1, like the dev stack's nodes: under TCG each
# vCPU is a host thread, and the test suite runs this beside other guests on two cores).
#
# Test tooling only: the seed is made with genisoimage here; product code has its own writer.
# The guest gets qemu's user-mode network with restrict=on (no route off the VM; the only
# connection is the host-loopback port forward used for SSH).
set -euo pipefail

image=${1:?usage: boot-test.sh IMAGE.qcow2 [virtio|nvme] [TIMEOUT_SECONDS] [pc|q35]}
bus=${2:-virtio}
timeout=${3:-600}
machine=${4:-pc}
image=$(readlink -f "${image}")
start=$(date +%s)
log() { printf '[boot-test %s +%ds] %s\n' "${bus}" "$(($(date +%s) - start))" "$*"; }
die() { log "FAILED: $*" >&2; exit 1; }

for tool in qemu-system-x86_64 qemu-img genisoimage ssh ssh-keygen ss; do
    command -v "${tool}" >/dev/null 2>&1 || die "'${tool}' not found; run eng/install-prerequisites.sh"
done
[[ -f ${image} ]] || die "no image at ${image}"

work=$(mktemp -d "${TMPDIR:-/tmp}/provisioner-boot-test.XXXXXX")
qemu_pid=
cleanup() {
    local rc=$?
    set +e
    if [[ -n ${qemu_pid} ]] && kill -0 "${qemu_pid}" 2>/dev/null; then
        kill "${qemu_pid}"
        for _ in $(seq 50); do kill -0 "${qemu_pid}" 2>/dev/null || break; sleep 0.1; done
        kill -9 "${qemu_pid}" 2>/dev/null
    fi
    if [[ -n ${BOOT_TEST_SERIAL_LOG:-} && -f ${work}/serial.log ]]; then
        cp "${work}/serial.log" "${BOOT_TEST_SERIAL_LOG}"
    fi
    if [[ ${rc} -ne 0 && -f ${work}/serial.log ]]; then
        echo "---- last 60 lines of the serial console ----" >&2
        tail -n 60 "${work}/serial.log" | tr -d '\r' >&2
    fi
    rm -rf "${work}"
    exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Keys: the client's login key and the guest's host key, both made here; the host key is
# handed to the guest through the seed and pinned in known_hosts before the first connection.
ssh-keygen -q -t ed25519 -N '' -C boot-test-client -f "${work}/client_key"
ssh-keygen -q -t ed25519 -N '' -C boot-test-host -f "${work}/host_key"

port=
for _ in $(seq 50); do
    candidate=$((20000 + RANDOM % 30000))
    if ! ss -Hltn "sport = :${candidate}" | grep -q .; then port=${candidate}; break; fi
done
[[ -n ${port} ]] || die "no free loopback port"
printf '[127.0.0.1]:%s %s\n' "${port}" "$(cut -d' ' -f1,2 "${work}/host_key.pub")" >"${work}/known_hosts"

mkdir "${work}/seed"
printf 'instance-id: boot-test-%s\nlocal-hostname: boot-test\n' "$$" >"${work}/seed/meta-data"
{
    echo '#cloud-config'
    echo 'ssh_deletekeys: true'
    echo 'ssh_genkeytypes: []'
    echo 'ssh_keys:'
    echo '  ed25519_private: |'
    sed 's/^/    /' "${work}/host_key"
    printf '  ed25519_public: %s\n' "$(cat "${work}/host_key.pub")"
    printf 'ssh_authorized_keys:\n  - %s\n' "$(cat "${work}/client_key.pub")"
    echo 'runcmd:'
    # Self-checks, printed on the console by cloud-final.
    # shellcheck disable=SC2016
    echo '  - [ sh, -c, ''echo "PV-CHECK machine-id=$(cat /etc/machine-id) root=$(findmnt -no SOURCE /) docker=$(systemctl is-active docker) containerd=$(systemctl is-active containerd) nftables=$(systemctl is-enabled nftables 2>&1) apparmor=$(cat /sys/module/apparmor/parameters/enabled) agent=$(systemctl is-active qemu-guest-agent) kernel=$(uname -r)"'' ]'
    echo 'final_message: "PV-BOOT-OK cloud-init finished after $UPTIME seconds"'
} >"${work}/seed/user-data"
genisoimage -quiet -output "${work}/seed.iso" -volid cidata -joliet -rock \
    "${work}/seed/user-data" "${work}/seed/meta-data"

qemu-img create -q -f qcow2 -F qcow2 -b "${image}" "${work}/disk.qcow2" 8G
case "${machine}" in
    pc) nvme_bus= ;;
    # As the engine attaches it through <qemu:commandline>: q35 needs an explicit PCIe slot.
    q35) nvme_bus=,bus=pcie.0,addr=0x1e ;;
    *) die "machine must be pc or q35, not '${machine}'" ;;
esac
case "${bus}" in
    virtio) root_dev=(-drive "file=${work}/disk.qcow2,if=virtio,format=qcow2") ;;
    nvme) root_dev=(-drive "file=${work}/disk.qcow2,if=none,id=root,format=qcow2"
                    -device "nvme,serial=pvroot,drive=root,bootindex=0${nvme_bus}") ;;
    *) die "bus must be virtio or nvme, not '${bus}'" ;;
esac

log "booting ${image} (${bus} root disk, ${machine}, TCG) with SSH forwarded from 127.0.0.1:${port}"
qemu-system-x86_64 -machine "${machine},accel=tcg" -smp "${BOOT_TEST_CPUS:-1}" -m 2048 -nodefaults -display none \
    -serial "file:${work}/serial.log" -monitor none \
    "${root_dev[@]}" \
    -drive "file=${work}/seed.iso,if=virtio,format=raw,readonly=on,media=cdrom" \
    -nic "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22" \
    -device virtio-rng-pci \
    -device virtio-serial-pci \
    -chardev "socket,id=qga0,path=${work}/qga.sock,server=on,wait=off" \
    -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
    </dev/null >"${work}/qemu.log" 2>&1 &
qemu_pid=$!

wait_for() { # PATTERN DESCRIPTION
    while ! grep -q -a "$1" "${work}/serial.log" 2>/dev/null; do
        kill -0 "${qemu_pid}" 2>/dev/null || { cat "${work}/qemu.log" >&2; die "qemu exited before $2"; }
        (($(date +%s) - start < timeout)) || die "timed out after ${timeout}s waiting for $2"
        sleep 1
    done
    log "$2"
}

wait_for 'Linux version' 'kernel started'
wait_for 'login:' 'login prompt on the serial console'

ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=${work}/known_hosts"
          -o ConnectTimeout=10 -i "${work}/client_key" -p "${port}")
while ! ssh "${ssh_opts[@]}" debian@127.0.0.1 true 2>"${work}/ssh.err"; do
    kill -0 "${qemu_pid}" 2>/dev/null || die "qemu exited before SSH answered"
    (($(date +%s) - start < timeout)) || { cat "${work}/ssh.err" >&2; die "timed out waiting for SSH"; }
    sleep 2
done
log "SSH login with the pinned host key"

wait_for 'PV-BOOT-OK' 'cloud-init finished'
check=$(grep -a -o 'PV-CHECK.*' "${work}/serial.log" | tr -d '\r' | tail -n1)
log "${check}"
# Docker stays off until a node's hardening enables it (see build.sh).
for expect in 'docker=inactive' 'containerd=inactive' 'nftables=disabled' 'apparmor=Y' 'agent=active'; do
    [[ ${check} == *"${expect}"* ]] || die "guest self-check lacks '${expect}'"
done
[[ ${check} =~ machine-id=[0-9a-f]{32} ]] || die "guest has no machine id"
case "${bus}" in
    virtio) [[ ${check} == *'root=/dev/vda1'* ]] || die "root is not /dev/vda1" ;;
    nvme) [[ ${check} == *'root=/dev/nvme0n1p1'* ]] || die "root is not /dev/nvme0n1p1" ;;
esac
remote=$(ssh "${ssh_opts[@]}" debian@127.0.0.1 \
    'sudo -n sh -c "ls /etc/ssh/ssh_host_* | wc -l; df -BG --output=size / | tail -n1; systemctl start docker; docker info --format {{.SecurityOptions}}; cloud-init status --wait | tail -n1"')
log "guest: host key files=$(echo "${remote}" | sed -n 1p), root size=$(echo "${remote}" | sed -n 2p | tr -d ' '), docker security=$(echo "${remote}" | sed -n 3p), cloud-init $(echo "${remote}" | sed -n 4p)"
[[ $(echo "${remote}" | sed -n 3p) == *apparmor* ]] || die "docker does not report apparmor"
[[ $(echo "${remote}" | sed -n 4p) == 'status: done' ]] || die "cloud-init did not finish cleanly"
log "PASSED"
