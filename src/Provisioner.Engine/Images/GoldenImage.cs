namespace Provisioner.Engine.Images;

/// <summary>
/// A built golden image in the cache whose checksum has been verified.
/// </summary>
/// <param name="Name">The recipe name, e.g. <c>debian-12</c>.</param>
/// <param name="Path">Absolute path of the qcow2 file.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the qcow2 file, as verified on load.</param>
/// <param name="VirtualSizeBytes">The disk's virtual size; clones may be larger, never smaller.</param>
/// <param name="RecipeHash">The recipe hash the image was built from (its cache key).</param>
public sealed record GoldenImage(string Name, string Path, string Sha256, ulong VirtualSizeBytes, string RecipeHash);
