using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Provisioner.Core.Kubernetes.Bootstrap;

/// <summary>
/// Which kubelet serving certificate requests to approve. With <c>serverTLSBootstrap</c> the kubelets ask the
/// cluster CA for serving certificates (so the API server can verify them, CIS 1.2.5), and nothing approves those
/// by default. A request is approved only when it is pending, for the kubelet-serving signer, made by
/// <c>system:node:NAME</c> of a node being bootstrapped, and names nothing but that node's name and address.
/// </summary>
public static class KubeletServingCsrPolicy
{
    /// <summary>Names of the requests in <paramref name="csrListJson"/> (<c>kubectl get csr -o json</c>) to approve for <paramref name="node"/>.</summary>
    public static IReadOnlyList<string> Approvable(string csrListJson, ClusterNode node)
    {
        ArgumentNullException.ThrowIfNull(csrListJson);
        ArgumentNullException.ThrowIfNull(node);
        using var document = JsonDocument.Parse(csrListJson);
        var result = new List<string>();
        if (!document.RootElement.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return result;
        }

        foreach (var item in items.EnumerateArray())
        {
            var name = item.GetProperty("metadata").GetProperty("name").GetString();
            var spec = item.GetProperty("spec");
            if (name is null
                || Text(spec, "signerName") != "kubernetes.io/kubelet-serving"
                || Text(spec, "username") != $"system:node:{node.Name}"
                || !spec.TryGetProperty("groups", out var groups) || !groups.EnumerateArray().Any(g => g.GetString() == "system:nodes")
                || IsDecided(item)
                || Text(spec, "request") is not { } request
                || !NamesOnly(request, node))
            {
                continue;
            }

            result.Add(name);
        }

        return result;
    }

    private static string? Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool IsDecided(JsonElement item) =>
        item.TryGetProperty("status", out var status)
        && status.TryGetProperty("conditions", out var conditions)
        && conditions.ValueKind == JsonValueKind.Array
        && conditions.EnumerateArray().Any(c => Text(c, "type") is "Approved" or "Denied" or "Failed");

    private static bool NamesOnly(string base64Pem, ClusterNode node)
    {
        try
        {
            var pem = Encoding.ASCII.GetString(Convert.FromBase64String(base64Pem));
            var request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
            var subject = request.SubjectName.EnumerateRelativeDistinguishedNames()
                .Select(r => (r.GetSingleElementType().Value, r.GetSingleElementValue()))
                .ToList();
            if (!subject.SequenceEqual([("2.5.4.10", "system:nodes"), ("2.5.4.3", $"system:node:{node.Name}")])
                && !subject.SequenceEqual([("2.5.4.3", $"system:node:{node.Name}"), ("2.5.4.10", "system:nodes")]))
            {
                return false;
            }

            var extension = request.CertificateExtensions.SingleOrDefault(e => e.Oid?.Value == "2.5.29.17");
            if (extension is null)
            {
                return false;
            }

            var san = new X509SubjectAlternativeNameExtension(extension.RawData, extension.Critical);

            var nodeAddress = IPAddress.Parse(node.Address.ToString());
            return san.EnumerateDnsNames().All(n => string.Equals(n, node.Name, StringComparison.OrdinalIgnoreCase))
                && san.EnumerateIPAddresses().All(a => a.Equals(nodeAddress))
                && san.EnumerateIPAddresses().Any();
        }
        catch (Exception e) when (e is FormatException or CryptographicException or ArgumentException)
        {
            return false;
        }
    }
}
