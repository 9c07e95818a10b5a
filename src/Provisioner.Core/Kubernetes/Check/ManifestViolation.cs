namespace Provisioner.Core.Kubernetes.Check;

/// <summary>Which admission control a rule belongs to.</summary>
public enum RuleSource
{
    /// <summary>Pod Security Admission, <c>restricted</c> profile at the pinned version.</summary>
    PodSecurity,

    /// <summary>One of the project's ValidatingAdmissionPolicies.</summary>
    AdmissionPolicy,
}

/// <summary>One rule a manifest breaks, at one field.</summary>
/// <param name="Source">Pod Security or the project's policies.</param>
/// <param name="Rule">The rule id: the Pod Security check id (e.g. <c>allowPrivilegeEscalation</c>) or the policy name.</param>
/// <param name="Path">The field path in the manifest, e.g. <c>spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation</c>.</param>
/// <param name="Message">What is wrong and what is allowed.</param>
public sealed record ManifestViolation(RuleSource Source, string Rule, string Path, string Message);
