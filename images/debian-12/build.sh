#!/usr/bin/env bash
# Builds the Debian 12 (bookworm) golden image: a BIOS-bootable qcow2 with one ext4 root
# partition, cloud-init (NoCloud), OpenSSH, qemu-guest-agent, Docker (docker.io, containerd,
# apparmor) and nftables. Needs nothing from the network but Debian's package mirror.
#
# Usage: images/debian-12/build.sh OUTPUT_DIR          (root; see eng/install-prerequisites.sh)
#
# Writes into OUTPUT_DIR (created if missing, must be empty):
#   debian-12.qcow2          the image, 4 GiB virtual size (the engine grows clones)
#   debian-12.qcow2.sha256   `sha256sum` line for the image
#   manifest.json            recipe hash, image sha256, virtual size, build time, packages
# Callers that cache images (images/ensure-image.sh, ImageBuilder) build into a temporary
# directory and rename it into the cache, so a killed build never leaves a half image there.
#
# Environment (all optional):
#   DEBIAN_MIRROR            mirror used for the build (default http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR   security mirror for the build (default .../debian-security)
#   PROVISIONER_CACHE        cache root (default /var/cache/provisioner). Under
#                            $PROVISIONER_CACHE/images/debian-12/ the build keeps its .deb cache
#                            (debootstrap-cache/, makes rebuilds fast) and its work area (.work-*/,
#                            removed on exit; one left by a SIGKILLed build is removed by the next).
#
# How it boots, without guestfish or mounting the disk: the root filesystem is made from a
# directory with `mkfs.ext4 -d`, copied into partition 1 of a raw disk with an MBR, and GRUB's
# boot.img (MBR code) and core.img (sector 1 onwards, before the partition) are written with dd.
# core.img finds its modules and grub.cfg on the partition of the disk the BIOS booted from,
# so the disk boots as a virtio disk (/dev/vda) and as an NVMe disk (/dev/nvme0n1) alike; the
# kernel finds its root by filesystem label. grub.cfg boots /vmlinuz and /initrd.img, the
# symlinks the kernel package keeps current, so kernel updates inside the guest take effect.
set -euo pipefail

readonly NAME=debian-12
readonly SUITE=bookworm
# Fixed timestamp for everything the build writes (reproducible content): 2025-01-01T00:00:00Z.
readonly FIXED_EPOCH=1735689600
readonly DISK_SIZE_MIB=4096
readonly PART_START_SECTOR=2048
readonly ROOT_LABEL=provisioner-root
readonly KERNEL_CMDLINE="root=LABEL=${ROOT_LABEL} ro console=tty0 console=ttyS0,115200n8"

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache_root=${PROVISIONER_CACHE:-/var/cache/provisioner}
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_start=$(date +%s)

log() { printf '[build %s +%ds] %s\n' "${NAME}" "$(($(date +%s) - build_start))" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: $0 OUTPUT_DIR"
[[ ${EUID} -eq 0 ]] || die "must run as root (debootstrap, chroot)"
for tool in debootstrap chroot mkfs.ext4 sfdisk grub-mkimage qemu-img sha256sum flock truncate; do
    command -v "${tool}" >/dev/null 2>&1 || die "'${tool}' not found; run eng/install-prerequisites.sh"
done
readonly grub_dir=/usr/lib/grub/i386-pc
[[ -f ${grub_dir}/boot.img ]] || die "${grub_dir}/boot.img not found (package grub-pc-bin)"

out=$1
mkdir -p "${out}"
out=$(cd "${out}" && pwd)
[[ -z $(ls -A "${out}") ]] || die "output directory ${out} is not empty"

export SOURCE_DATE_EPOCH=${FIXED_EPOCH}
export LC_ALL=C.UTF-8
recipe_hash=$("${recipe_dir}/../recipe-hash.sh" "${recipe_dir}")
log "recipe ${recipe_dir} hash ${recipe_hash}"

work=
rootfs=
succeeded=0

# Unmounts everything below a directory, deepest first. Lazy, so a busy mount never keeps the
# build from cleaning up.
unmount_below() {
    local dir=$1 m
    awk -v p="${dir}" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r m; do umount -l "${m}" || true; done
}

cleanup() {
    local rc=$?
    set +e
    if [[ -n ${work} && -d ${work} ]]; then
        unmount_below "${work}"
        # --one-file-system: should anything still be mounted below, never delete through it.
        rm -rf --one-file-system "${work}"
    fi
    if [[ ${succeeded} -ne 1 ]]; then
        rm -f "${out}/${NAME}.qcow2" "${out}/${NAME}.qcow2.sha256" "${out}/manifest.json"
        log "FAILED (exit ${rc}); partial output removed"
    fi
    exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

in_root() {
    chroot "${rootfs}" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LC_ALL=C.UTF-8 \
        SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH}" "$@"
}

# --- packages ------------------------------------------------------------------------------
pkg_cache=${cache_root}/images/${NAME}/debootstrap-cache
mkdir -p "${pkg_cache}"
# Two builds at once would race on the shared .deb cache and work area: one at a time.
exec 9>"${pkg_cache}/.lock"
if ! flock -n 9; then
    log "waiting for another build of ${NAME} (lock ${pkg_cache}/.lock)"
    flock 9
fi
# Work areas of builds that were killed (SIGKILL skips the trap): with the lock held, no live
# build owns one. Unmount what they left mounted before deleting anything.
for stale in "${cache_root}/images/${NAME}"/.work-*; do
    [[ -e ${stale} ]] || continue
    log "removing the work area of an interrupted build: ${stale}"
    unmount_below "${stale}"
    rm -rf --one-file-system "${stale}"
done
# In the cache, not /tmp: same filesystem as the .deb cache (hard links) and room for 4 GiB.
work=$(mktemp -d "${cache_root}/images/${NAME}/.work-XXXXXX")
rootfs=${work}/rootfs

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "${recipe_dir}/packages.txt" | awk 'NF')
[[ ${#packages[@]} -gt 0 ]] || die "packages.txt lists no packages"

log "debootstrap ${SUITE} (minbase) from ${mirror}"
debootstrap --variant=minbase --merged-usr --components=main --cache-dir="${pkg_cache}" \
    "${SUITE}" "${rootfs}" "${mirror}" >"${work}/debootstrap.log" 2>&1 ||
    { tail -n 40 "${work}/debootstrap.log" >&2; die "debootstrap failed"; }

log "configuring apt and the chroot"
cat >"${rootfs}/etc/apt/sources.list" <<EOF
deb ${mirror} ${SUITE} main
deb ${mirror} ${SUITE}-updates main
deb ${security_mirror} ${SUITE}-security main
EOF
# Package scripts must not start daemons inside the build chroot.
printf '#!/bin/sh\nexit 101\n' >"${rootfs}/usr/sbin/policy-rc.d"
chmod 0755 "${rootfs}/usr/sbin/policy-rc.d"
rm -f "${rootfs}/etc/resolv.conf"
cp -L /etc/resolv.conf "${rootfs}/etc/resolv.conf"
# Recipe files go in before the packages, so the initramfs is generated once with our settings.
cp -a "${recipe_dir}/overlay/." "${rootfs}/"
chown -R root:root "${rootfs}/etc/cloud" "${rootfs}/etc/systemd/system" "${rootfs}/etc/initramfs-tools"
# Reuse .debs from earlier builds (hard links: same filesystem as the cache when possible).
find "${pkg_cache}" -maxdepth 1 -name '*.deb' -exec cp -l -n -t "${rootfs}/var/cache/apt/archives/" {} + 2>/dev/null ||
    find "${pkg_cache}" -maxdepth 1 -name '*.deb' -exec cp -n -t "${rootfs}/var/cache/apt/archives/" {} +

mount -t proc proc "${rootfs}/proc"
mount -t sysfs sysfs "${rootfs}/sys"

log "apt-get update and upgrade (security and point-release fixes)"
in_root apt-get -q -o Acquire::Retries=3 update >"${work}/apt.log" 2>&1 ||
    { tail -n 40 "${work}/apt.log" >&2; die "apt-get update failed"; }
in_root apt-get -q -y -o Acquire::Retries=3 -o Dpkg::Options::=--force-confold dist-upgrade \
    >>"${work}/apt.log" 2>&1 || { tail -n 40 "${work}/apt.log" >&2; die "apt-get dist-upgrade failed"; }

log "installing ${#packages[@]} packages: ${packages[*]}"
in_root apt-get -q -y -o Acquire::Retries=3 -o Dpkg::Options::=--force-confold \
    install --no-install-recommends "${packages[@]}" >>"${work}/apt.log" 2>&1 ||
    { tail -n 60 "${work}/apt.log" >&2; die "apt-get install failed"; }

# Keep the downloaded .debs for the next build.
find "${rootfs}/var/cache/apt/archives" -maxdepth 1 -name '*.deb' \
    -exec cp -l -n -t "${pkg_cache}/" {} + 2>/dev/null ||
    find "${rootfs}/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -n -t "${pkg_cache}/" {} +

# --- system configuration --------------------------------------------------------------------
log "configuring the system"
kernel_version=$(find "${rootfs}/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n1)
[[ -n ${kernel_version} ]] || die "no kernel installed in /boot"
# Debian's kernel package keeps /vmlinuz and /initrd.img pointing at the newest kernel;
# grub.cfg relies on them. Create them if this debootstrap did not.
[[ -e ${rootfs}/vmlinuz ]] || ln -sfn "boot/vmlinuz-${kernel_version}" "${rootfs}/vmlinuz"
[[ -e ${rootfs}/initrd.img ]] || ln -sfn "boot/initrd.img-${kernel_version}" "${rootfs}/initrd.img"
[[ -f ${rootfs}/boot/initrd.img-${kernel_version} ]] || die "no initramfs for ${kernel_version}"

# The guest must find its root on virtio and on NVMe: check the initramfs really has both.
in_root sh -c "lsinitramfs /boot/initrd.img-${kernel_version}" >"${work}/initrd.list"
for module in virtio_pci virtio_blk nvme ext4; do
    grep -q "/${module}\.ko" "${work}/initrd.list" ||
        grep -q "/${module}\.ko" "${rootfs}/usr/lib/modules/${kernel_version}/modules.builtin" ||
        die "initramfs for ${kernel_version} lacks module ${module}"
done

cat >"${rootfs}/etc/fstab" <<EOF
# <file system>        <mount point> <type> <options>                <dump> <pass>
LABEL=${ROOT_LABEL}    /             ext4   defaults,errors=remount-ro  0      1
EOF
echo localhost >"${rootfs}/etc/hostname"
# C.UTF-8 is built into libc; with it set here and in cloud.cfg.d, cloud-init's locale module
# has nothing to generate (Debian's default en_US.UTF-8 is not installed and fails the module).
printf 'LANG=C.UTF-8\n' >"${rootfs}/etc/default/locale"
cat >"${rootfs}/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
# ifupdown reads interfaces.d, where cloud-init's ENI renderer writes the network config.
cat >"${rootfs}/etc/network/interfaces" <<'EOF'
# Network interfaces are configured by cloud-init in /etc/network/interfaces.d/.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
EOF
mkdir -p "${rootfs}/etc/network/interfaces.d"

# Debian's /etc/nftables.conf starts with `flush ruleset`: loading it at boot, or on any
# reload, wipes the chains Docker creates and leaves published ports open. Nothing loads it
# until the firewall configuration replaces it with rules that keep Docker's chains; the
# preset keeps systemd's first-boot preset run from enabling it behind our back.
#
# Docker and containerd stay off until the node's first boot has written the hardened daemon
# configuration, created the dockremap ranges and loaded the firewall: the hardening enables and
# starts them. Started by the image instead, dockerd would run with Debian's defaults (and publish
# ports through its own rules) before any firewall exists, pick its own dockremap ranges, and cost
# a second start under software emulation.
in_root systemctl disable nftables.service docker.service docker.socket containerd.service >/dev/null 2>&1 || true
mkdir -p "${rootfs}/etc/systemd/system-preset"
cat >"${rootfs}/etc/systemd/system-preset/10-provisioner.preset" <<'EOF'
# nftables.conf flushes Docker's chains; the firewall configuration enables it.
disable nftables.service
# The node's hardening enables these once the daemon configuration and the firewall are in place.
disable docker.service
disable docker.socket
disable containerd.service
EOF
in_root systemctl enable ssh.service >/dev/null 2>&1 || die "could not enable ssh"

# GRUB: modules on the root filesystem for anything core.img does not embed, and a static
# grub.cfg that boots the kernel the /vmlinuz symlink points at (kernel updates just work).
mkdir -p "${rootfs}/boot/grub/i386-pc"
cp "${grub_dir}"/*.mod "${grub_dir}"/*.lst "${rootfs}/boot/grub/i386-pc/"
cat >"${rootfs}/boot/grub/grub.cfg" <<EOF
# Written by the Provisioner image recipe; the kernel package keeps /vmlinuz current.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=1
set default=0

menuentry 'Debian GNU/Linux 12' {
    linux /vmlinuz ${KERNEL_CMDLINE}
    initrd /initrd.img
}
menuentry 'Debian GNU/Linux 12 (previous kernel)' {
    linux /vmlinuz.old ${KERNEL_CMDLINE}
    initrd /initrd.img.old
}
EOF

# --- nothing machine-specific or secret --------------------------------------------------------
log "removing machine identity, host keys, caches and logs"
in_root apt-get -q clean
in_root dpkg-query -W -f '${Package}\t${Version}\n' | LC_ALL=C sort >"${work}/packages.tsv"
umount "${rootfs}/sys" "${rootfs}/proc"

rm -rf "${rootfs}/var/lib/apt/lists/"*
mkdir -p "${rootfs}/var/lib/apt/lists/partial"
rm -f "${rootfs}/var/cache/apt/"*.bin
# systemd creates the machine id on first boot when the file is empty (not when it is absent
# on a read-only root), and treats that boot as the first one.
truncate -s 0 "${rootfs}/etc/machine-id"
rm -f "${rootfs}/var/lib/dbus/machine-id"
ln -s /etc/machine-id "${rootfs}/var/lib/dbus/machine-id"
# Host keys come from the engine through cloud-init and are pinned; never ship any.
rm -f "${rootfs}"/etc/ssh/ssh_host_*
rm -f "${rootfs}/var/lib/systemd/random-seed" "${rootfs}/var/lib/systemd/credential.secret"
rm -rf "${rootfs}/var/lib/cloud/"* "${rootfs}/tmp/"* "${rootfs}/var/tmp/"* "${rootfs}/root/.cache"
rm -f "${rootfs}/usr/sbin/policy-rc.d" "${rootfs}/etc/resolv.conf"
rm -f "${rootfs}"/etc/{passwd,group,shadow,gshadow,subuid,subgid}-
rm -f "${rootfs}"/var/cache/debconf/*-old "${rootfs}"/var/lib/dpkg/*-old "${rootfs}/var/cache/ldconfig/aux-cache"
find "${rootfs}/var/log" -type f -delete
cat >"${rootfs}/etc/apt/sources.list" <<EOF
deb http://deb.debian.org/debian ${SUITE} main
deb http://deb.debian.org/debian ${SUITE}-updates main
deb http://deb.debian.org/debian-security ${SUITE}-security main
EOF
# Password ages are stamped with the build day; pin them to the fixed epoch.
awk -F: -v d=$((FIXED_EPOCH / 86400)) 'BEGIN { OFS = ":" } $3 != "" { $3 = d } { print }' \
    "${rootfs}/etc/shadow" >"${work}/shadow" && cat "${work}/shadow" >"${rootfs}/etc/shadow"
find "${rootfs}" -xdev -newermt "@${FIXED_EPOCH}" -exec touch --no-dereference --date="@${FIXED_EPOCH}" {} +

# --- disk ----------------------------------------------------------------------------------
log "making the root filesystem and disk"
# The filesystem UUID follows from the recipe, so equal recipes give equal filesystems.
fs_uuid=$(printf '%s' "${recipe_hash}" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
fs_mib=$((DISK_SIZE_MIB - PART_START_SECTOR * 512 / 1048576))
truncate -s "${fs_mib}M" "${work}/root.ext4"
# GRUB 2.06 cannot read metadata_csum_seed or orphan_file: keep them off whatever mke2fs.conf says.
E2FSPROGS_FAKE_TIME=${FIXED_EPOCH} mkfs.ext4 -q -F -L "${ROOT_LABEL}" -U "${fs_uuid}" \
    -E "hash_seed=${fs_uuid}" -O '^metadata_csum_seed,^orphan_file' \
    -d "${rootfs}" "${work}/root.ext4"
rm -rf --one-file-system "${rootfs}"

disk=${work}/disk.raw
truncate -s "${DISK_SIZE_MIB}M" "${disk}"
sfdisk -q --no-reread --no-tell-kernel "${disk}" <<EOF
label: dos
label-id: 0x50525631
unit: sectors

start=${PART_START_SECTOR}, type=83, bootable
EOF
dd if="${work}/root.ext4" of="${disk}" bs=1M seek=$((PART_START_SECTOR * 512 / 1048576)) conv=notrunc,sparse status=none
rm -f "${work}/root.ext4"

# core.img's prefix "(,msdos1)" means partition 1 of the BIOS boot drive, whatever its number.
grub-mkimage -O i386-pc -d "${grub_dir}" -p '(,msdos1)/boot/grub' -o "${work}/core.img" \
    biosdisk part_msdos ext2 normal linux search search_label configfile echo test serial terminal boot gzio
core_sectors=$((($(stat -c %s "${work}/core.img") + 511) / 512))
[[ ${core_sectors} -lt ${PART_START_SECTOR} ]] || die "core.img (${core_sectors} sectors) does not fit before the partition"
# boot.img loads core.img from sector 1 (its default); keep the partition table after byte 440.
dd if="${grub_dir}/boot.img" of="${disk}" bs=440 count=1 conv=notrunc status=none
dd if="${work}/core.img" of="${disk}" bs=512 seek=1 conv=notrunc status=none

log "compressing to qcow2"
qemu-img convert -q -c -O qcow2 -o compat=1.1 "${disk}" "${out}/${NAME}.qcow2"
rm -f "${disk}"

image_sha=$(sha256sum "${out}/${NAME}.qcow2" | cut -d' ' -f1)
printf '%s  %s\n' "${image_sha}" "${NAME}.qcow2" >"${out}/${NAME}.qcow2.sha256"
file_size=$(stat -c %s "${out}/${NAME}.qcow2")
build_seconds=$(($(date +%s) - build_start))

{
    printf '{\n'
    printf '  "name": "%s",\n' "${NAME}"
    printf '  "recipeHash": "%s",\n' "${recipe_hash}"
    printf '  "imageFile": "%s",\n' "${NAME}.qcow2"
    printf '  "imageSha256": "%s",\n' "${image_sha}"
    printf '  "virtualSizeBytes": %d,\n' $((DISK_SIZE_MIB * 1048576))
    printf '  "fileSizeBytes": %d,\n' "${file_size}"
    printf '  "builtAt": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "buildSeconds": %d,\n' "${build_seconds}"
    printf '  "sourceDateEpoch": %d,\n' "${FIXED_EPOCH}"
    printf '  "suite": "%s",\n' "${SUITE}"
    printf '  "kernel": "%s",\n' "${kernel_version}"
    printf '  "rootLabel": "%s",\n' "${ROOT_LABEL}"
    printf '  "kernelCommandLine": "%s",\n' "${KERNEL_CMDLINE}"
    printf '  "packages": [\n'
    # Debian package names and versions contain no characters that need JSON escaping.
    awk -F'\t' '{ printf "%s    { \"name\": \"%s\", \"version\": \"%s\" }", (NR > 1 ? ",\n" : ""), $1, $2 } END { printf "\n" }' \
        "${work}/packages.tsv"
    printf '  ]\n'
    printf '}\n'
} >"${out}/manifest.json"

succeeded=1
log "done: ${out}/${NAME}.qcow2 ($((file_size / 1048576)) MiB, sha256 ${image_sha}) in ${build_seconds}s"
