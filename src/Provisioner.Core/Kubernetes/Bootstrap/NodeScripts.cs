namespace Provisioner.Core.Kubernetes.Bootstrap;

/// <summary>
/// The constant shell scripts the bootstrap runs. They take every value as a positional parameter
/// (<c>sh -c SCRIPT sh ARG…</c>), so no value is ever part of script text.
/// </summary>
public static class NodeScripts
{
    /// <summary>
    /// Inspection: <c>$1</c> the node's cluster address, <c>$2…</c> the paths to report. Prints tab-separated
    /// lines: <c>kernel</c>, <c>containerd</c>, <c>interface</c>, <c>swap</c>, <c>package NAME VERSION STATUS</c>,
    /// <c>held NAME</c>, <c>file PATH MODE OWNER SHA256</c>. Reads only; prints no file content.
    /// </summary>
    public const string Inspect = """
        set -u
        address=$1; shift
        printf 'kernel\t%s\n' "$(uname -r)"
        if command -v containerd >/dev/null 2>&1; then printf 'containerd\t%s\n' "$(containerd --version 2>/dev/null | awk '{print $3}')"; fi
        ip -o -4 addr show 2>/dev/null | while read -r _ ifname _ cidr _; do
          case "$cidr" in "$address"/*) printf 'interface\t%s\n' "$ifname";; esac
        done
        if [ -n "$(swapon --show --noheadings 2>/dev/null)" ] || awk '$1 !~ /^#/ && $3 == "swap" { found = 1 } END { exit !found }' /etc/fstab 2>/dev/null; then
          printf 'swap\ton\n'
        fi
        dpkg-query -W -f='package\t${Package}\t${Version}\t${db:Status-Abbrev}\n' kubeadm kubelet kubectl keepalived curl 2>/dev/null || true
        apt-mark showhold 2>/dev/null | while read -r name; do printf 'held\t%s\n' "$name"; done
        for path in "$@"; do
          if [ -f "$path" ]; then
            printf 'file\t%s\t%s\t%s\n' "$path" "$(stat --printf '%a\t%U:%G' "$path")" "$(sha256sum "$path" | cut -d ' ' -f 1)"
          fi
        done
        """;

    /// <summary>
    /// Installs Debian packages the bootstrap needs on the host (<c>$@</c>: curl, keepalived) from Debian's mirror.
    /// Golden images ship without package lists, and the Kubernetes source may not be usable yet (its key is
    /// installed later, or its mirror is unreachable), so this refreshes Debian's own lists first
    /// (<c>sources.list</c> only) and the full set only if that was not enough.
    /// </summary>
    public const string InstallHostPackages = """
        set -eu
        export DEBIAN_FRONTEND=noninteractive
        install_packages() { apt-get -q install -y --no-install-recommends "$@" >/dev/null 2>&1; }
        install_packages "$@" && exit 0
        apt-get -q update -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null 2>&1 || true
        install_packages "$@" && exit 0
        apt-get -q update >/dev/null 2>&1 || true
        apt-get -q install -y --no-install-recommends "$@"
        """;

    /// <summary>Turns swap off now and for good (comments out swap lines in /etc/fstab, keeping a backup).</summary>
    public const string DisableSwap = """
        set -eu
        swapoff -a
        sed -i.provisioner-backup -E 's@^([^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$@# \1@' /etc/fstab
        """;

    /// <summary>
    /// Installs the package repository's signing key: <c>$1</c> its URL, <c>$2</c> its SHA-256 or empty, <c>$3</c> the
    /// keyring path. Without a pinned checksum only HTTPS (or a local file) is trusted to deliver the key; with one,
    /// a plain-HTTP mirror is fine. Nothing is installed unless the download and the checksum succeed.
    /// </summary>
    public const string InstallRepositoryKey = """
        set -eu
        tmp=$(mktemp)
        trap 'rm -f "$tmp"' EXIT
        protocols='=https,file'
        if [ -n "$2" ]; then protocols='=https,http,file'; fi
        curl --fail --silent --show-error --location --proto "$protocols" --proto-redir "$protocols" --max-time 60 --output "$tmp" "$1"
        if [ -n "$2" ]; then printf '%s  %s\n' "$2" "$tmp" | sha256sum --check --status; fi
        install -D -m 0644 -o root -g root "$tmp" "$3"
        """;

    /// <summary>
    /// Fetches a manifest, verifies it and applies it: <c>$1</c> URL, <c>$2</c> SHA-256, <c>$3</c> where to keep the
    /// verified copy, <c>$4</c> admin kubeconfig. The manifest is applied only from the verified file, so the
    /// transport (HTTPS, an internal HTTP mirror, a local file) does not matter.
    /// </summary>
    public const string ApplyVerifiedManifest = """
        set -eu
        tmp=$(mktemp "$3.XXXXXX")
        trap 'rm -f "$tmp"' EXIT
        curl --fail --silent --show-error --location --proto '=https,http,file' --max-time 120 --output "$tmp" "$1"
        if ! printf '%s  %s\n' "$2" "$tmp" | sha256sum --check --status; then
          echo "manifest from $1 does not have SHA-256 $2; not applied" >&2
          exit 3
        fi
        chmod 0600 "$tmp"
        mv -f "$tmp" "$3"
        kubectl --kubeconfig "$4" apply --server-side --force-conflicts --field-manager=provisioner -f "$3"
        """;

    /// <summary>Sets mode <c>$1</c> on each existing path of <c>$2…</c> (kubeadm and package files CIS wants tighter).</summary>
    public const string ChmodExisting = """
        set -eu
        mode=$1; shift
        for path in "$@"; do
          if [ -e "$path" ]; then chmod "$mode" "$path"; fi
        done
        """;

    /// <summary>Stops the API server container so the kubelet restarts it with its changed files (<c>$1</c> the CRI endpoint).</summary>
    public const string RestartApiServer = """
        set -eu
        ids=$(crictl --runtime-endpoint "$1" ps --name kube-apiserver --quiet)
        if [ -n "$ids" ]; then crictl --runtime-endpoint "$1" stop $ids; fi
        """;
}
