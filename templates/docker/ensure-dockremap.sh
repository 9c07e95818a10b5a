#!/bin/sh
# Installed by Provisioner as /usr/local/lib/provisioner/ensure-dockremap. Do not edit.
#
# Creates the account Docker's "userns-remap": "default" maps container root to, and its subordinate
# UID/GID ranges, idempotently. dockerd would create both itself, but with the first free range after
# whatever users exist at that moment; a fixed range makes every node alike and the audit exact.
# Existing ranges are kept: changing them would orphan the remapped data root
# /var/lib/docker/<uid>.<gid> and with it every image and volume.
#
# Usage: ensure-dockremap [ROOT]   (ROOT, default /, is for tests: it works on ROOT/etc/…)
set -eu

root=${1:-/}
user=dockremap
first=1000000000
count=65536
last=$((first + count - 1))

prefix_option=
if [ "$root" != / ]; then
    prefix_option="--prefix $root"
fi

has_entry() {
    # $1: file, $2: name. Matches the name field exactly (no regular expression on the name).
    [ -f "$1" ] && awk -F: -v name="$2" '$1 == name { found = 1 } END { exit !found }' "$1"
}

if ! has_entry "$root/etc/group" "$user"; then
    # shellcheck disable=SC2086 # $prefix_option is empty or two words on purpose
    groupadd $prefix_option --system "$user"
fi
if ! has_entry "$root/etc/passwd" "$user"; then
    # shellcheck disable=SC2086
    useradd $prefix_option --system --gid "$user" --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$user"
fi
for file in subuid subgid; do
    if [ ! -e "$root/etc/$file" ]; then
        install -m 0644 /dev/null "$root/etc/$file"
    fi
done
if ! has_entry "$root/etc/subuid" "$user"; then
    # shellcheck disable=SC2086
    usermod $prefix_option --add-subuids "$first-$last" "$user"
fi
if ! has_entry "$root/etc/subgid" "$user"; then
    # shellcheck disable=SC2086
    usermod $prefix_option --add-subgids "$first-$last" "$user"
fi
