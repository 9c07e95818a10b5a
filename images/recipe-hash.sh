#!/usr/bin/env bash
# Prints the recipe hash of an image recipe directory: the SHA-256 of the `sha256sum` listing
# of every regular file in it, sorted by relative path (byte order), i.e. the text
#     "<sha256 hex of file>  <relative/path>\n" ...
# ImageRecipe.ComputeHash (src/Provisioner.Engine/Images) computes the same value in-process;
# both must change together. Symbolic links are not followed and are not part of the hash;
# file modes are not part of it either (git keeps only the executable bit).
#
# Usage: images/recipe-hash.sh images/debian-12
set -euo pipefail

dir=${1:?usage: recipe-hash.sh RECIPE_DIR}
cd "$dir"
# A name with a newline or backslash would be escaped by sha256sum and hash differently from
# the in-process implementation: refuse it instead.
if find . -type f \( -name '*\\*' -o -name $'*\n*' \) -print -quit | grep -q .; then
    echo "recipe-hash: file names with backslashes or newlines are not allowed in $dir" >&2
    exit 1
fi
find . -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 -r sha256sum -- | sha256sum | cut -d' ' -f1
