using Microsoft.Extensions.Logging;
using Provisioner.Cli;
using Provisioner.Core.Templates;
using Provisioner.Engine;
using Provisioner.Engine.Access;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Images;
using Provisioner.Engine.Keys;

namespace Provisioner.Pulumi.Composition;

/// <summary>The engine the provider drives, and the pieces around it it needs.</summary>
/// <param name="Engine">The stack engine (the CLI's).</param>
/// <param name="Keys">Where each stack's admin key lives.</param>
/// <param name="Audit">The audit phase for <c>getAudit</c>; null where nodes cannot be reached over SSH (test driver).</param>
/// <param name="Access">SSH to the nodes, for <c>getKubeconfig</c>; null where nodes cannot be reached (test driver).</param>
/// <param name="Time">The engine's clock.</param>
/// <param name="Description">Which composition this is, for the log.</param>
public sealed record ProviderEngine(StackEngine Engine, StackKeyStore Keys, AuditPhase? Audit, INodeAccess? Access, TimeProvider Time, string Description)
{
    /// <summary>
    /// Test seam, read once at Configure: names a golden image file and selects the test composition
    /// (libvirt test driver hosts, a node is ready once its domain runs, no SSH phases). Unset in production.
    /// </summary>
    public const string TestImageVariable = "PROVISIONER_PULUMI_TEST_IMAGE";

    /// <summary>The production engine, built exactly as the CLI builds it; or the test composition when <see cref="TestImageVariable"/> is set.</summary>
    public static ProviderEngine Create(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var testImage = Environment.GetEnvironmentVariable(TestImageVariable);
        if (string.IsNullOrWhiteSpace(testImage))
        {
            var context = EngineFactory.Create(loggerFactory);
            return new ProviderEngine(context.Engine, context.Keys, context.Audit, context.Access, context.Time, "production (EngineFactory)");
        }

        var time = TimeProvider.System;
        var keys = StackKeyStore.Default();
        var engine = new StackEngine(new StackEngineOptions
        {
            Templates = TemplateRenderer.CreateDefault(),
            Images = new FileImageSource(testImage),
            Readiness = new DomainRunningReadiness(),
            Keys = keys,
            // libvirt's test driver keeps its state per connection: one connection per host for the process's life.
            Connector = new CachingHostConnector(),
            VolumeContent = new TestDriverVolumeContent(),
            Time = time,
            LoggerFactory = loggerFactory,
        });
        return new ProviderEngine(engine, keys, null, null, time, $"test ({TestImageVariable}={testImage})");
    }
}
