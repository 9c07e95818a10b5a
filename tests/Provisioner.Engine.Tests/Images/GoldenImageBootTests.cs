using System.Diagnostics;
using System.Text;
using Provisioner.Engine.Images;

namespace Provisioner.Engine.Tests.Images;

/// <summary>
/// Builds (or reuses from the cache) the real Debian 12 golden image and boots it under qemu's
/// software emulation from an NVMe disk (q35): the guest must reach
/// a login prompt, finish cloud-init, accept SSH with the host key its seed pinned, and report
/// the guest agent running, Docker and containerd off until a node's hardening enables them (Docker then starts with
/// AppArmor) and nftables.service disabled.
/// Minutes per boot under TCG.
/// </summary>
public sealed class GoldenImageBootTests(GoldenImageBootTests.ImageFixture fixture) : IClassFixture<GoldenImageBootTests.ImageFixture>
{
    [Fact]
    public async Task EnsureBuiltAsync_RealRecipe_ImageVerifiesAndMatchesManifest()
    {
        var image = fixture.RequireImage();

        Assert.Equal("debian-12", image.Name);
        Assert.Equal(4UL << 30, image.VirtualSizeBytes);
        var recipe = ImageRecipe.Open(Repository.ImagesDirectory, "debian-12");
        Assert.Equal(await recipe.ComputeHashAsync(TestContext.Current.CancellationToken), image.RecipeHash);
        var manifest = await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(image.Path)!, "manifest.json"), TestContext.Current.CancellationToken);
        foreach (var package in new[] { "cloud-init", "openssh-server", "qemu-guest-agent", "docker.io", "containerd", "apparmor", "nftables", "linux-image-cloud-amd64" })
        {
            Assert.Contains($"\"name\": \"{package}\"", manifest);
        }
    }

    // NVMe the way the engine attaches it (qemu -device on q35's PCIe root), outside the engine. The virtio disk on
    // i440fx is what every live test's node boots from through the engine, so booting it here as well only cost CI
    // ten minutes of a core; `images/boot-test.sh IMAGE virtio` still checks it by hand.
    [Theory]
    [InlineData("nvme", "q35")]
    public async Task Boot_UnderTcg_ReachesSshAndCloudInitDone(string bus, string machine)
    {
        var image = fixture.RequireImage();
        Repository.Require(Repository.HasCommand("qemu-system-x86_64"), "qemu-system-x86_64 is not installed (package qemu-system-x86)");
        Repository.Require(Repository.HasCommand("genisoimage"), "genisoimage is not installed");
        Repository.Require(Repository.HasCommand("ssh"), "ssh is not installed (package openssh-client)");

        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(Repository.ImagesDirectory, "boot-test.sh"));
        start.ArgumentList.Add(image.Path);
        start.ArgumentList.Add(bus);
        start.ArgumentList.Add("1200");
        start.ArgumentList.Add(machine);
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM, not Kill(): boot-test.sh's trap stops its qemu and removes its files.
            using (var kill = Process.Start("kill", ["-s", "TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                kill.WaitForExit();
            }

            process.WaitForExit(TimeSpan.FromSeconds(30));
            throw;
        }

        process.WaitForExit();
        var log = output.ToString();
        TestContext.Current.TestOutputHelper?.WriteLine(log);
        Assert.True(process.ExitCode == 0, $"boot test ({bus}, {machine}) failed:\n{log}");
        Assert.Contains("SSH login with the pinned host key", log);
        Assert.Contains("cloud-init status: done", log);
    }

    /// <summary>Ensures the golden image once for all tests of the class.</summary>
    public sealed class ImageFixture : IAsyncLifetime
    {
        private GoldenImage? _image;
        private string? _missing;

        public GoldenImage RequireImage()
        {
            Repository.Require(_missing is null, _missing ?? string.Empty);
            return _image!;
        }

        public async ValueTask InitializeAsync()
        {
            if (!Environment.IsPrivilegedProcess)
            {
                _missing = "building the golden image needs root (debootstrap, chroot)";
                return;
            }

            foreach (var (command, package) in new[] { ("debootstrap", "debootstrap"), ("mkfs.ext4", "e2fsprogs"), ("sfdisk", "fdisk"), ("grub-mkimage", "grub-pc-bin"), ("qemu-img", "qemu-utils") })
            {
                if (!Repository.HasCommand(command))
                {
                    _missing = $"{command} is not installed (package {package}; see eng/install-prerequisites.sh)";
                    return;
                }
            }

            var recipe = ImageRecipe.Open(Repository.ImagesDirectory, "debian-12");
            var builder = new ImageBuilder(ImageCache.FromEnvironment());
            _image = await builder.EnsureBuiltAsync(recipe, null, TestContext.Current.CancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
