using System.Diagnostics;
using System.Security.Cryptography;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Bootstrap;

namespace Provisioner.Core.Tests.Kubernetes;

/// <summary>
/// The constant node scripts run for real with this machine's <c>sh</c>, on files in a temporary folder only
/// (the same POSIX tools the Debian guests have: curl, sha256sum, stat).
/// </summary>
public sealed class NodeScriptsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("k8s-scripts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, string StdOut, string StdErr) Sh(string script, string? path, params string[] args)
    {
        var start = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", script, "sh" }.Concat(args))
        {
            start.ArgumentList.Add(a);
        }

        if (path is not null)
        {
            start.Environment["PATH"] = path + ":" + Environment.GetEnvironmentVariable("PATH");
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr);
    }

    private static void RequireTools() =>
        Assert.SkipUnless(File.Exists("/usr/bin/curl") && File.Exists("/usr/bin/sha256sum"), "needs curl and sha256sum (apt-get install curl coreutils)");

    [Fact]
    public void Inspect_TempFiles_ParsesToModesOwnersAndDigests()
    {
        var file = Path.Combine(_dir, "kubelet.conf");
        File.WriteAllText(file, "x");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var (exit, stdout, _) = Sh(NodeScripts.Inspect, null, "127.0.0.1", file, Path.Combine(_dir, "missing"));
        var node = NodeInspection.Parse(stdout);

        Assert.Equal(0, exit);
        Assert.False(string.IsNullOrEmpty(node.Facts.KernelRelease));
        var observed = Assert.Single(node.Files);
        Assert.Equal(file, observed.Key);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, observed.Value.Mode);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("x"u8)), observed.Value.Sha256);
        Assert.Contains(':', observed.Value.Owner);
    }

    [Fact]
    public void ChmodExisting_SetsModesAndSkipsMissingPaths()
    {
        var file = Path.Combine(_dir, "config.yaml");
        File.WriteAllText(file, "x");

        var (exit, _, _) = Sh(NodeScripts.ChmodExisting, null, "0600", file, Path.Combine(_dir, "missing"));

        Assert.Equal(0, exit);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Fact]
    public void ApplyVerifiedManifest_ChecksumMatches_KeepsVerifiedCopyAndApplies()
    {
        RequireTools();
        var (manifest, sha, target, kubectlLog, bin) = Setup("kind: ConfigMap\n");

        var (exit, _, stderr) = Sh(NodeScripts.ApplyVerifiedManifest, bin, new Uri(manifest).AbsoluteUri, sha, target, "/etc/kubernetes/admin.conf");

        Assert.True(exit == 0, stderr);
        Assert.Equal("kind: ConfigMap\n", File.ReadAllText(target));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
        Assert.Equal($"--kubeconfig /etc/kubernetes/admin.conf apply --server-side --force-conflicts --field-manager=provisioner -f {target}\n", File.ReadAllText(kubectlLog));
    }

    [Fact]
    public void ApplyVerifiedManifest_ChecksumDiffers_NeitherKeptNorApplied()
    {
        RequireTools();
        var (manifest, _, target, kubectlLog, bin) = Setup("kind: ConfigMap\n");

        var (exit, _, stderr) = Sh(NodeScripts.ApplyVerifiedManifest, bin, new Uri(manifest).AbsoluteUri, new string('0', 64), target, "/etc/kubernetes/admin.conf");

        Assert.Equal(3, exit);
        Assert.Contains("not applied", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
        Assert.False(File.Exists(kubectlLog));
        Assert.Empty(Directory.GetFiles(_dir, "cni.yaml.*"));
    }

    [Fact]
    public void InstallRepositoryKey_WrongPinnedChecksum_InstallsNothing()
    {
        RequireTools();
        var key = Path.Combine(_dir, "Release.key");
        File.WriteAllText(key, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n");
        var target = Path.Combine(_dir, "keyrings", "kubernetes.asc");

        var wrong = Sh(NodeScripts.InstallRepositoryKey, null, new Uri(key).AbsoluteUri, new string('1', 64), target);

        Assert.NotEqual(0, wrong.Exit);
        Assert.False(File.Exists(target));
    }

    [Theory]
    [InlineData("", "install curl|update -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0|install curl")]
    [InlineData("debian-lists", "install curl")]
    [InlineData("full-update", "install curl|update -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0|install curl|update|install curl")]
    public void InstallHostPackages_NoPackageLists_RefreshesDebiansListsFirst(string state, string expected)
    {
        // A fake apt-get: 'install' works once the lists it needs exist ('debian-lists' after the sources.list-only
        // update; 'full-update' only after a full one, as when Debian's source lives in sources.list.d).
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        var log = Path.Combine(_dir, "apt.log");
        var lists = Path.Combine(_dir, "lists");
        File.WriteAllText(Path.Combine(_dir, "needs"), state == "full-update" ? "full" : "debian");
        if (state == "debian-lists")
        {
            File.WriteAllText(lists, "debian");
        }

        var apt = Path.Combine(bin, "apt-get");
        File.WriteAllText(apt, $$"""
            #!/bin/sh
            shift # -q
            echo "$*" | sed -e 's/ -y --no-install-recommends//' >> '{{log}}'
            case "$1" in
              update) if [ "$#" -gt 1 ]; then echo debian > '{{lists}}'; else echo full > '{{lists}}'; fi; exit 0;;
              install) [ -f '{{lists}}' ] || exit 100
                       [ "$(cat '{{_dir}}/needs')" = debian ] || [ "$(cat '{{lists}}')" = full ] || exit 100
                       exit 0;;
            esac
            """);
        File.SetUnixFileMode(apt, KubernetesNodeFiles.OwnerOnlyExecutable);

        var (exit, _, stderr) = Sh(NodeScripts.InstallHostPackages, bin, "curl");

        Assert.Equal(0, exit);
        Assert.Equal(expected, string.Join('|', File.ReadAllLines(log)), ignoreLineEndingDifferences: true);
        Assert.Equal(string.Empty, stderr);
    }

    private (string Manifest, string Sha, string Target, string KubectlLog, string Bin) Setup(string content)
    {
        var manifest = Path.Combine(_dir, "calico.yaml");
        File.WriteAllText(manifest, content);
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        var log = Path.Combine(_dir, "kubectl.log");
        var kubectl = Path.Combine(bin, "kubectl");
        File.WriteAllText(kubectl, $"#!/bin/sh\necho \"$*\" >> '{log}'\n");
        File.SetUnixFileMode(kubectl, KubernetesNodeFiles.OwnerOnlyExecutable);
        return (manifest, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(manifest))), Path.Combine(_dir, "cni.yaml"), log, bin);
    }
}
