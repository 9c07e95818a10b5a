using System.Security.Cryptography;

namespace Provisioner.Engine.Forensics;

/// <summary>What a file of an evidence set looks like now.</summary>
public enum EvidenceFileStatus
{
    /// <summary>Present with the recorded size and hash.</summary>
    Intact,

    /// <summary>Present, but its content differs from what was recorded.</summary>
    Modified,

    /// <summary>Listed in the manifest but gone.</summary>
    Missing,

    /// <summary>In the directory but not in the manifest (added after the capture).</summary>
    Unlisted,
}

/// <summary>The check of one file.</summary>
/// <param name="Name">File name.</param>
/// <param name="Status">The outcome.</param>
/// <param name="ExpectedSha256">The hash in the manifest, or null for an unlisted file.</param>
/// <param name="ActualSha256">The hash now, or null for a missing file.</param>
public sealed record EvidenceFileCheck(string Name, EvidenceFileStatus Status, string? ExpectedSha256, string? ActualSha256);

/// <summary>The result of re-checking an evidence set.</summary>
/// <param name="Directory">The evidence directory.</param>
/// <param name="Manifest">Its manifest.</param>
/// <param name="Files">Every file's check, in manifest order, then unlisted files.</param>
/// <param name="Problems">Set-level problems (an incomplete capture).</param>
public sealed record EvidenceVerification(string Directory, EvidenceManifest Manifest, IReadOnlyList<EvidenceFileCheck> Files, IReadOnlyList<string> Problems)
{
    /// <summary>Whether everything is as captured.</summary>
    public bool Intact => Problems.Count == 0 && Files.All(f => f.Status == EvidenceFileStatus.Intact);

    /// <summary>The files that fail, as one line each (<c>memory.elf: modified</c>).</summary>
    public IEnumerable<string> Failures =>
        Problems.Concat(Files.Where(f => f.Status != EvidenceFileStatus.Intact).Select(f => $"{f.Name}: {f.Status.ToString().ToLowerInvariant()}"));
}

/// <summary>The directory is not a readable evidence set (no manifest, or a manifest that is not valid).</summary>
public sealed class EvidenceManifestException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EvidenceManifestException() { }

    /// <summary>Creates the exception.</summary>
    public EvidenceManifestException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public EvidenceManifestException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Re-checks an evidence set against its manifest: every file's SHA-256, missing and added files.</summary>
public static class EvidenceVerifier
{
    /// <summary>Verifies the evidence set in <paramref name="directory"/> (or the one whose manifest <paramref name="directory"/> names).</summary>
    /// <exception cref="EvidenceManifestException">No manifest, or one that cannot be read.</exception>
    public static async Task<EvidenceVerification> VerifyAsync(string directory, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (File.Exists(directory) && Path.GetFileName(directory) == EvidenceManifest.FileName)
        {
            directory = Path.GetDirectoryName(Path.GetFullPath(directory))!;
        }

        var manifestPath = Path.Combine(directory, EvidenceManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            var incomplete = File.Exists(Path.Combine(directory, EvidenceManifest.IncompleteMarker));
            throw new EvidenceManifestException(incomplete
                ? $"{directory} holds an incomplete capture (no {EvidenceManifest.FileName}); it cannot be verified"
                : $"{directory} is not an evidence set: no {EvidenceManifest.FileName}");
        }

        EvidenceManifest manifest;
        try
        {
            manifest = EvidenceManifest.Parse(await File.ReadAllTextAsync(manifestPath, cancellationToken).ConfigureAwait(false));
        }
        catch (FormatException e)
        {
            throw new EvidenceManifestException($"{manifestPath}: {e.Message}", e);
        }

        var checks = new List<EvidenceFileCheck>();
        var problems = new List<string>();
        foreach (var file in manifest.Files)
        {
            // A manifest edited to point outside its directory must not make us read (and vouch for) other files.
            if (file.Name != Path.GetFileName(file.Name) || file.Name is "." or ".." || file.Name.Length == 0)
            {
                problems.Add($"manifest lists '{file.Name}', which is not a file name in the evidence directory");
                continue;
            }

            var path = Path.Combine(directory, file.Name);
            if (!File.Exists(path))
            {
                checks.Add(new EvidenceFileCheck(file.Name, EvidenceFileStatus.Missing, file.Sha256, null));
                continue;
            }

            var (bytes, sha) = await HashAsync(path, cancellationToken).ConfigureAwait(false);
            var intact = bytes == file.Bytes && string.Equals(sha, file.Sha256, StringComparison.OrdinalIgnoreCase);
            checks.Add(new EvidenceFileCheck(file.Name, intact ? EvidenceFileStatus.Intact : EvidenceFileStatus.Modified, file.Sha256, sha));
        }

        var listed = manifest.Files.Select(f => f.Name).Append(EvidenceManifest.FileName).ToHashSet(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (name == EvidenceManifest.IncompleteMarker)
            {
                problems.Add("the capture did not finish (incomplete marker present)");
            }
            else if (!listed.Contains(name))
            {
                checks.Add(new EvidenceFileCheck(name, EvidenceFileStatus.Unlisted, null, File.Exists(path) ? (await HashAsync(path, cancellationToken).ConfigureAwait(false)).Sha256 : null));
            }
        }

        return new EvidenceVerification(directory, manifest, checks, problems);
    }

    /// <summary>Size and SHA-256 (lower-case hex) of a file, read once.</summary>
    public static async Task<(long Bytes, string Sha256)> HashAsync(string path, CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
            return (stream.Length, Convert.ToHexStringLower(hash));
        }
    }
}
