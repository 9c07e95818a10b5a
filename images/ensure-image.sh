#!/usr/bin/env bash
# Makes sure the golden image of a recipe is in the cache, building it when it is missing or
# fails its checksum, and prints the cache directory that holds it on stdout (logs go to stderr).
# Shares layout and lock with ImageBuilder (src/Provisioner.Engine/Images), so the CLI, the
# tests and CI all reuse one cache:
#
#   ${PROVISIONER_CACHE:-/var/cache/provisioner}/images/<name>/
#       .lock                       flock(2) held while checking/building (one build at a time)
#       <recipe hash>/              debian-12.qcow2, debian-12.qcow2.sha256, manifest.json
#       .tmp-<recipe hash>-<pid>/   a build in progress; renamed to <recipe hash>/ when complete
#       debootstrap-cache/          .deb files kept between builds
#
# Usage: images/ensure-image.sh debian-12
set -euo pipefail

name=${1:?usage: ensure-image.sh RECIPE_NAME}
[[ ${name} =~ ^[a-z0-9][a-z0-9.-]{0,62}$ ]] || { echo "ensure-image: invalid recipe name '${name}'" >&2; exit 2; }
images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
recipe_dir=${images_dir}/${name}
[[ -f ${recipe_dir}/build.sh ]] || { echo "ensure-image: no recipe at ${recipe_dir}" >&2; exit 2; }

log() { printf '[ensure-image %s] %s\n' "${name}" "$*" >&2; }

hash=$("${images_dir}/recipe-hash.sh" "${recipe_dir}")
cache=${PROVISIONER_CACHE:-/var/cache/provisioner}/images/${name}
final=${cache}/${hash}

verify() { # DIR: the image matches its recorded checksum
    [[ -f $1/${name}.qcow2 && -f $1/${name}.qcow2.sha256 && -f $1/manifest.json ]] &&
        (cd "$1" && sha256sum --quiet --status -c "${name}.qcow2.sha256")
}

mkdir -p "${cache}"
exec 8>"${cache}/.lock"
if ! flock -n 8; then
    log "another build holds ${cache}/.lock; waiting"
    flock 8
fi

if [[ -d ${final} ]]; then
    if verify "${final}"; then
        log "cached image ${final} (recipe ${hash}) verified"
        echo "${final}"
        exit 0
    fi
    log "cached image in ${final} fails its checksum; rebuilding"
    rm -rf --one-file-system "${final}"
fi

# Builds killed earlier (we hold the lock, so no build is running). build.sh keeps its mounts
# in its own work directory, so nothing is mounted here; --one-file-system guards anyway.
for stale in "${cache}"/.tmp-*; do
    [[ -e ${stale} ]] || continue
    log "removing leftovers of an interrupted build: ${stale}"
    rm -rf --one-file-system "${stale}"
done

tmp=${cache}/.tmp-${hash}-$$
log "building recipe ${hash} into ${tmp}"
PROVISIONER_CACHE=${PROVISIONER_CACHE:-/var/cache/provisioner} bash "${recipe_dir}/build.sh" "${tmp}" >&2
verify "${tmp}" || { log "built image fails its own checksum"; rm -rf --one-file-system "${tmp}"; exit 1; }
mv -T "${tmp}" "${final}"
log "cached image ${final}"
echo "${final}"
