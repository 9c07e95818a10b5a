using Google.Protobuf.WellKnownTypes;
using Pulumirpc;
using Provisioner.Engine.Sandboxes;
using Provisioner.Pulumi.Protocol;

namespace Provisioner.Pulumi.Resources;

/// <summary>
/// <c>provisioner:index:Sandbox</c>: one disposable hardened VM, the CLI's <c>provisioner sandbox up</c>, through
/// the same <see cref="SandboxService"/>. Its expiry lives in the domain's libvirt metadata, where the reaper sees it.
/// </summary>
internal sealed class SandboxResource(ProviderSession session)
{
    public const string Token = "provisioner:index:Sandbox";

    private static readonly Dictionary<string, SandboxEmulation> Emulations = new(StringComparer.Ordinal)
    {
        ["off"] = SandboxEmulation.Off,
        ["allow"] = SandboxEmulation.Allow,
        ["force"] = SandboxEmulation.Force,
    };

    // The service's errors name CLI flags; Pulumi users know the properties.
    private static readonly (string Flag, string Property)[] FlagProperties =
        [("--name", "name"), ("--cpus", "cpus"), ("--memory", "memoryMiB"), ("--disk", "diskGiB"), ("--ttl", "ttlMinutes")];

    private static readonly DiffRule[] Rules =
    [
        ResourceSupport.Replaces("name"),
        ResourceSupport.InPlace("ttlMinutes"),
        ResourceSupport.Replaces("cpus"),
        ResourceSupport.Replaces("memoryMiB"),
        ResourceSupport.Replaces("diskGiB"),
        ResourceSupport.Replaces("uri"),
        ResourceSupport.Replaces("cidr"),
        ResourceSupport.Replaces("emulation"),
    ];

    public static CheckResponse Check(CheckRequest request)
    {
        var news = request.News ?? new Struct();
        var response = new CheckResponse();
        var inputs = new Struct();
        foreach (var (key, value) in news.Fields)
        {
            inputs.Fields[key] = value;
        }

        var defaults = SandboxHost.Local;
        SetDefault(inputs, "cpus", Value.ForNumber(SandboxSpec.DefaultCpus));
        SetDefault(inputs, "memoryMiB", Value.ForNumber(SandboxSpec.DefaultMemoryMiB));
        SetDefault(inputs, "diskGiB", Value.ForNumber(SandboxSpec.DefaultDiskGiB));
        SetDefault(inputs, "uri", Value.ForString(defaults.Uri));
        SetDefault(inputs, "cidr", Value.ForString(defaults.Cidr));
        SetDefault(inputs, "emulation", Value.ForString("off"));

        if (inputs.Fields.Values.Any(PropertyValues.ContainsUnknown))
        {
            response.Inputs = inputs;
            return response;
        }

        if (PropertyValues.Text(inputs, "name") is null)
        {
            response.Failures.Add(new CheckFailure { Property = "name", Reason = "name is required" });
        }

        if (PropertyValues.Number(inputs, "ttlMinutes") is not { } ttl)
        {
            response.Failures.Add(new CheckFailure { Property = "ttlMinutes", Reason = "ttlMinutes is required (minutes until the sandbox expires)" });
        }
        else if (TimeSpan.FromMinutes(ttl) < SandboxTtl.Min || TimeSpan.FromMinutes(ttl) > SandboxTtl.Max)
        {
            response.Failures.Add(new CheckFailure
            {
                Property = "ttlMinutes",
                Reason = $"ttlMinutes: {ttl} is out of range ({SandboxTtl.Min.TotalMinutes}..{SandboxTtl.Max.TotalMinutes})",
            });
        }

        if (!Emulations.ContainsKey(PropertyValues.Text(inputs, "emulation") ?? string.Empty))
        {
            response.Failures.Add(new CheckFailure { Property = "emulation", Reason = $"emulation: '{PropertyValues.Text(inputs, "emulation")}' is not one of off, allow, force" });
        }

        if (response.Failures.Count == 0)
        {
            try
            {
                Spec(inputs).Validate();
            }
            catch (SandboxInputException e)
            {
                var property = FlagProperties.FirstOrDefault(f => e.Message.StartsWith(f.Flag, StringComparison.Ordinal)).Property ?? string.Empty;
                response.Failures.Add(new CheckFailure { Property = property, Reason = e.Message });
            }
        }

        if (response.Failures.Count == 0)
        {
            response.Inputs = inputs;
        }

        return response;
    }

    public static DiffResponse Diff(DiffRequest request)
    {
        var response = ResourceSupport.Diff(request.Olds, request.News, Rules, request.IgnoreChanges);

        // The name is the sandbox's identity on the host: the old one must go before its replacement comes.
        response.DeleteBeforeReplace = true;
        return response;
    }

    public Task<CreateResponse> CreateAsync(CreateRequest request, CancellationToken cancellationToken)
    {
        var inputs = request.Properties;
        if (request.Preview)
        {
            var preview = Copy(inputs);
            foreach (var key in new[] { "address", "state", "ready", "expires", "hostKeyFingerprint" })
            {
                preview.Fields[key] = ResourceSupport.Unknown;
            }

            preview.Fields["adminPrivateKey"] = PropertyValues.Secret(ResourceSupport.Unknown);
            return Task.FromResult(new CreateResponse { Properties = preview });
        }

        var spec = Spec(inputs);
        return session.RunAsync($"create sandbox {spec.Name}", async ct =>
        {
            var service = Service(inputs);
            var sandbox = await service.UpAsync(new SandboxRequest { Spec = spec, Ttl = TimeSpan.FromMinutes(PropertyValues.Number(inputs, "ttlMinutes")!.Value) }, ct).ConfigureAwait(false);
            return new CreateResponse { Id = spec.Name, Properties = await OutputsAsync(inputs, sandbox, ct).ConfigureAwait(false) };
        }, cancellationToken);
    }

    public Task<ReadResponse> ReadAsync(ReadRequest request, CancellationToken cancellationToken)
    {
        var state = request.Properties;
        var name = PropertyValues.Text(state, "name") ?? request.Id;
        return session.RunAsync($"read sandbox {name}", async ct =>
        {
            var sandbox = (await Service(state).ListAsync(ct).ConfigureAwait(false)).FirstOrDefault(s => s.Name == name);
            if (sandbox is null)
            {
                return new ReadResponse();
            }

            var response = new ReadResponse { Id = name, Properties = await OutputsAsync(state, sandbox, ct).ConfigureAwait(false) };
            if (request.Inputs is { Fields.Count: > 0 })
            {
                response.Inputs = request.Inputs;
            }

            return response;
        }, cancellationToken);
    }

    public Task<UpdateResponse> UpdateAsync(UpdateRequest request, CancellationToken cancellationToken)
    {
        var name = PropertyValues.Text(request.News, "name")!;
        if (request.Preview)
        {
            var preview = Copy(request.Olds);
            foreach (var (key, value) in request.News.Fields)
            {
                preview.Fields[key] = value;
            }

            preview.Fields["expires"] = ResourceSupport.Unknown;
            return Task.FromResult(new UpdateResponse { Properties = preview });
        }

        return session.RunAsync($"update sandbox {name}", async ct =>
        {
            // Only the TTL changes in place: the expiry moves out by the new TTL.
            var service = Service(request.News);
            await service.ExtendAsync(name, TimeSpan.FromMinutes(PropertyValues.Number(request.News, "ttlMinutes")!.Value), ct).ConfigureAwait(false);
            var sandbox = (await service.ListAsync(ct).ConfigureAwait(false)).First(s => s.Name == name);
            return new UpdateResponse { Properties = await OutputsAsync(request.News, sandbox, ct).ConfigureAwait(false) };
        }, cancellationToken);
    }

    public Task<Empty> DeleteAsync(DeleteRequest request, CancellationToken cancellationToken)
    {
        var name = PropertyValues.Text(request.Properties, "name") ?? request.Id;
        return session.RunAsync($"delete sandbox {name}", async ct =>
        {
            var service = Service(request.Properties);
            if ((await service.ListAsync(ct).ConfigureAwait(false)).Any(s => s.Name == name))
            {
                await service.DestroyAsync(name, ct).ConfigureAwait(false);
            }

            return new Empty();
        }, cancellationToken);
    }

    private SandboxService Service(Struct inputs)
    {
        var engine = session.Engine;
        var host = SandboxHost.Local with
        {
            Uri = PropertyValues.Text(inputs, "uri") ?? SandboxHost.Local.Uri,
            Cidr = PropertyValues.Text(inputs, "cidr") ?? SandboxHost.Local.Cidr,
            Emulation = Emulations.GetValueOrDefault(PropertyValues.Text(inputs, "emulation") ?? "off", SandboxEmulation.Off),
        };
        return new SandboxService(engine.Engine, host, engine.Time);
    }

    private static SandboxSpec Spec(Struct inputs) => new()
    {
        Name = PropertyValues.Text(inputs, "name") ?? string.Empty,
        Cpus = (int)(PropertyValues.Number(inputs, "cpus") ?? SandboxSpec.DefaultCpus),
        MemoryMiB = (long)(PropertyValues.Number(inputs, "memoryMiB") ?? SandboxSpec.DefaultMemoryMiB),
        DiskGiB = (int)(PropertyValues.Number(inputs, "diskGiB") ?? SandboxSpec.DefaultDiskGiB),
    };

    private async Task<Struct> OutputsAsync(Struct inputs, Sandbox sandbox, CancellationToken ct)
    {
        var outputs = Copy(inputs);
        var key = await session.Engine.Keys.GetOrCreateAsync(SandboxHost.StackName, ct).ConfigureAwait(false);
        outputs.Fields["name"] = Value.ForString(sandbox.Name);
        outputs.Fields["address"] = ResourceSupport.Str(sandbox.Address);
        outputs.Fields["state"] = Value.ForString(sandbox.State);
        outputs.Fields["ready"] = Value.ForBool(sandbox.Ready);
        outputs.Fields["expires"] = ResourceSupport.Str(sandbox.Expires?.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        outputs.Fields["hostKeyFingerprint"] = Value.ForString(sandbox.HostKeyFingerprint);
        outputs.Fields["adminPrivateKey"] = PropertyValues.Secret(Value.ForString(key.PrivateKey.Reveal()));
        return ResourceSupport.KeepSecrets(inputs, outputs);
    }

    private static void SetDefault(Struct inputs, string key, Value value)
    {
        if (!PropertyValues.Has(inputs, key))
        {
            inputs.Fields[key] = value;
        }
    }

    private static Struct Copy(Struct? source)
    {
        var copy = new Struct();
        foreach (var (key, value) in source?.Fields ?? [])
        {
            copy.Fields[key] = value;
        }

        return copy;
    }
}
