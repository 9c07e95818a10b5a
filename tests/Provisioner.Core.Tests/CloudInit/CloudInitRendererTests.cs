using Provisioner.Core.CloudInit;
using Provisioner.Core.Security;
using Provisioner.Core.Templates;
using Provisioner.Core.Tests.Templates;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Tests.CloudInit;

public sealed class CloudInitRendererTests
{
    [Fact]
    public void Render_Sample_MatchesGoldenFiles()
    {
        var documents = CloudInitRenderer.Render(CloudInitSamples.Spec());

        Golden.AssertMatches("cloud-init-meta-data.out.yaml", documents.MetaData);
        Golden.AssertMatches("cloud-init-user-data.out.yaml", documents.UserData.Reveal());
        Golden.AssertMatches("cloud-init-network-config-dhcp.out.yaml", documents.NetworkConfig);
    }

    [Fact]
    public void Render_StaticAddress_MatchesGoldenFile() =>
        Golden.AssertMatches("cloud-init-network-config-static.out.yaml", CloudInitRenderer.Render(CloudInitSamples.StaticSpec()).NetworkConfig);

    [Fact]
    public void Render_UserData_StartsWithCloudConfigHeader()
    {
        var userData = CloudInitRenderer.Render(CloudInitSamples.Spec()).UserData.Reveal();

        Assert.StartsWith("#cloud-config\n", userData, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_UserData_LocksDownLoginAndPinsHostKey()
    {
        var root = Load(CloudInitRenderer.Render(CloudInitSamples.Spec()).UserData.Reveal());

        Assert.Equal("web-1", Scalar(root, "hostname"));
        Assert.Equal("web-1.dev.internal", Scalar(root, "fqdn"));
        Assert.Equal("false", Scalar(root, "ssh_pwauth"));
        Assert.Equal("true", Scalar(root, "disable_root"));
        Assert.Equal("true", Scalar(root, "ssh_deletekeys"));
        var keys = (YamlMappingNode)root["ssh_keys"];
        Assert.Equal(CloudInitSamples.PrivateKey, Scalar(keys, "ed25519_private"));
        Assert.Equal(CloudInitSamples.HostPublicKey, Scalar(keys, "ed25519_public"));
        Assert.Equal(2, keys.Children.Count);
        var user = (YamlMappingNode)Assert.Single((YamlSequenceNode)root["users"]);
        Assert.Equal("admin", Scalar(user, "name"));
        Assert.Equal("ALL=(ALL) NOPASSWD:ALL", Scalar(user, "sudo"));
        Assert.Equal("true", Scalar(user, "lock_passwd"));
        Assert.Equal([CloudInitSamples.AdminKey], ((YamlSequenceNode)user["ssh_authorized_keys"]).Select(n => ((YamlScalarNode)n).Value));
        Assert.Equal(["sudo"], ((YamlSequenceNode)user["groups"]).Select(n => ((YamlScalarNode)n).Value));
    }

    [Fact]
    public void Render_UserData_GrowsRootAndSkipsPackageUpdates()
    {
        var root = Load(CloudInitRenderer.Render(CloudInitSamples.Spec()).UserData.Reveal());

        Assert.Equal("auto", Scalar((YamlMappingNode)root["growpart"], "mode"));
        Assert.Equal("true", Scalar(root, "resize_rootfs"));
        Assert.Equal("false", Scalar(root, "package_update"));
        Assert.Equal("false", Scalar(root, "package_upgrade"));
    }

    [Fact]
    public void Render_GrowRootOff_TurnsGrowpartAndResizeOff()
    {
        var root = Load(CloudInitRenderer.Render(CloudInitSamples.Spec() with { GrowRootFilesystem = false }).UserData.Reveal());

        Assert.Equal("off", Scalar((YamlMappingNode)root["growpart"], "mode"));
        Assert.Equal("false", Scalar(root, "resize_rootfs"));
    }

    [Fact]
    public void Render_WriteFiles_KeepContentModeOwnerAndDefer()
    {
        var spec = CloudInitSamples.Spec();
        var files = ((YamlSequenceNode)Load(CloudInitRenderer.Render(spec).UserData.Reveal())["write_files"]).Cast<YamlMappingNode>().ToList();

        Assert.Equal(2, files.Count);
        Assert.Equal("/etc/docker/daemon.json", Scalar(files[0], "path"));
        Assert.Equal(spec.WriteFiles[0].Content, Scalar(files[0], "content"));
        Assert.Equal("0644", Scalar(files[0], "permissions"));
        Assert.Equal(YamlDotNet.Core.ScalarStyle.DoubleQuoted, ScalarStyleOf(files[0], "permissions"));
        Assert.Equal("root:root", Scalar(files[0], "owner"));
        Assert.False(files[0].Children.ContainsKey("defer"));
        Assert.Equal("docker", Scalar(files[1], "content"));
        Assert.Equal("true", Scalar(files[1], "defer"));
    }

    [Fact]
    public void Render_RunCommands_AreArgumentVectorsNotShellStrings()
    {
        var commands = ((YamlSequenceNode)Load(CloudInitRenderer.Render(CloudInitSamples.Spec()).UserData.Reveal())["runcmd"]).ToList();

        Assert.Equal(2, commands.Count);
        Assert.All(commands, c => Assert.IsType<YamlSequenceNode>(c));
        Assert.Equal(["sh", "-c", "echo 'quoted; $(not expanded)' > /dev/null"], ((YamlSequenceNode)commands[1]).Select(n => ((YamlScalarNode)n).Value));
    }

    [Fact]
    public void Render_MetaData_HasInstanceIdAndLocalHostName()
    {
        var documents = CloudInitRenderer.Render(CloudInitSamples.Spec());

        var root = Load(documents.MetaData);

        Assert.Equal(documents.InstanceId, Scalar(root, "instance-id"));
        Assert.Equal("web-1", Scalar(root, "local-hostname"));
        Assert.Matches("^iid-[0-9a-f]{32}$", documents.InstanceId);
    }

    [Fact]
    public void Render_NetworkConfigDhcp_MatchesMacAndSetsName()
    {
        var root = Load(CloudInitRenderer.Render(CloudInitSamples.Spec()).NetworkConfig);

        Assert.Equal("2", Scalar(root, "version"));
        var eth = (YamlMappingNode)((YamlMappingNode)root["ethernets"])["eth0"];
        Assert.Equal("52:54:00:12:34:56", Scalar((YamlMappingNode)eth["match"], "macaddress"));
        Assert.Equal("eth0", Scalar(eth, "set-name"));
        Assert.Equal("true", Scalar(eth, "dhcp4"));
        Assert.False(eth.Children.ContainsKey("addresses"));
    }

    [Fact]
    public void Render_NetworkConfigStatic_HasAddressRouteAndDns()
    {
        var root = Load(CloudInitRenderer.Render(CloudInitSamples.StaticSpec()).NetworkConfig);

        var eth = (YamlMappingNode)((YamlMappingNode)root["ethernets"])["eth0"];
        Assert.Equal("false", Scalar(eth, "dhcp4"));
        Assert.Equal(["10.77.0.11/24"], ((YamlSequenceNode)eth["addresses"]).Select(n => ((YamlScalarNode)n).Value));
        var route = (YamlMappingNode)Assert.Single((YamlSequenceNode)eth["routes"]);
        Assert.Equal("0.0.0.0/0", Scalar(route, "to"));
        Assert.Equal("10.77.0.1", Scalar(route, "via"));
        Assert.Equal(["10.77.0.1"], ((YamlSequenceNode)((YamlMappingNode)eth["nameservers"])["addresses"]).Select(n => ((YamlScalarNode)n).Value));
    }

    [Fact]
    public void Render_SameSpec_SameInstanceIdAndDocuments()
    {
        var first = CloudInitRenderer.Render(CloudInitSamples.Spec());
        var second = CloudInitRenderer.Render(CloudInitSamples.Spec());

        Assert.Equal(first, second);
    }

    public static TheoryData<string> Changes => new()
    {
        "hostname", "admin-key", "host-key", "file-content", "file-mode", "command", "mac", "static", "grow", "defer", "argv-split",
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Render_AnyContentChange_ChangesInstanceId(string change)
    {
        var spec = CloudInitSamples.Spec();
        var changed = change switch
        {
            "hostname" => spec with { HostName = "web-2", Fqdn = "web-2.dev.internal" },
            "admin-key" => spec with { AdminUser = spec.AdminUser with { SshAuthorizedKeys = [CloudInitSamples.AdminKey + "x"] } },
            "host-key" => spec with { HostKeys = [spec.HostKeys[0] with { PrivateKey = new Secret(CloudInitSamples.PrivateKey.Replace("AAAA", "AAAB", StringComparison.Ordinal)) }] },
            "file-content" => spec with { WriteFiles = [spec.WriteFiles[0] with { Content = "{}" }, spec.WriteFiles[1]] },
            "file-mode" => spec with { WriteFiles = [spec.WriteFiles[0] with { Permissions = "0640" }, spec.WriteFiles[1]] },
            "command" => spec with { RunCommands = [spec.RunCommands[0]] },
            "mac" => spec with { Network = spec.Network with { MacAddress = "52:54:00:12:34:57" } },
            "static" => CloudInitSamples.StaticSpec(),
            "grow" => spec with { GrowRootFilesystem = false },
            "defer" => spec with { WriteFiles = [spec.WriteFiles[0] with { Defer = true }, spec.WriteFiles[1]] },
            // Same words, different argv split: must not collide.
            "argv-split" => spec with { RunCommands = [["systemctl enable", "--now", "nftables.service"], spec.RunCommands[1]] },
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };

        Assert.NotEqual(CloudInitRenderer.Render(spec).InstanceId, CloudInitRenderer.Render(changed).InstanceId);
    }

    [Fact]
    public void Render_EqualContentFromEqualButDistinctObjects_SameInstanceId()
    {
        var spec = CloudInitSamples.Spec();
        var copy = spec with
        {
            AdminUser = spec.AdminUser with { SshAuthorizedKeys = [.. spec.AdminUser.SshAuthorizedKeys] },
            HostKeys = [spec.HostKeys[0] with { PrivateKey = new Secret(string.Concat(CloudInitSamples.PrivateKey.AsSpan(0, 10), CloudInitSamples.PrivateKey.AsSpan(10))) }],
            RunCommands = [.. spec.RunCommands.Select(c => (IReadOnlyList<string>)[.. c])],
        };

        Assert.Equal(CloudInitRenderer.Render(spec).InstanceId, CloudInitRenderer.Render(copy).InstanceId);
    }

    [Fact]
    public void Render_Documents_NeverPrintTheUserData()
    {
        var documents = CloudInitRenderer.Render(CloudInitSamples.Spec());

        Assert.DoesNotContain("PRIVATE KEY", documents.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", documents.UserData.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TemplateRendererTests.HostileValues), MemberType = typeof(TemplateRendererTests))]
    public void Render_HostileFileContentAndArguments_StayInertStrings(string value)
    {
        var spec = CloudInitSamples.Spec() with
        {
            WriteFiles = [new CloudInitFile { Path = "/etc/x", Content = value }, new CloudInitFile { Path = "/etc/y", Content = value + "\n" + value + "\n" }],
            RunCommands = [["echo", value]],
        };

        var userData = CloudInitRenderer.Render(spec).UserData.Reveal();

        var root = Load(userData);
        var expectedKeys = Load(CloudInitRenderer.Render(CloudInitSamples.Spec()).UserData.Reveal()).Children.Keys.Select(k => ((YamlScalarNode)k).Value);
        Assert.Equal(expectedKeys, root.Children.Keys.Select(k => ((YamlScalarNode)k).Value));
        var files = ((YamlSequenceNode)root["write_files"]).Cast<YamlMappingNode>().ToList();
        Assert.Equal(value, Scalar(files[0], "content"));
        Assert.Equal(value + "\n" + value + "\n", Scalar(files[1], "content"));
        Assert.All(files, f => Assert.Equal(4, f.Children.Count));
        var argv = (YamlSequenceNode)Assert.Single((YamlSequenceNode)root["runcmd"]);
        Assert.Equal(["echo", value], argv.Select(n => ((YamlScalarNode)n).Value));
        Assert.All(AllScalars(root), s => Assert.True(s.Tag.IsEmpty, $"scalar '{s.Value}' carries tag {s.Tag}"));
    }

    [Theory]
    [InlineData("no")]
    [InlineData("0644")]
    [InlineData("~")]
    [InlineData("null")]
    [InlineData("1e3")]
    [InlineData("2026-01-02")]
    [InlineData("  leading and trailing  ")]
    [InlineData("")]
    public void Render_ValuesYamlWouldRetype_StayStrings(string value)
    {
        var spec = CloudInitSamples.Spec() with { RunCommands = [["echo", value]] };

        var argv = (YamlSequenceNode)Assert.Single((YamlSequenceNode)Load(CloudInitRenderer.Render(spec).UserData.Reveal())["runcmd"]);

        var scalar = (YamlScalarNode)argv[1];
        Assert.Equal(value, scalar.Value);
        Assert.Equal(YamlDotNet.Core.ScalarStyle.DoubleQuoted, scalar.Style);
    }

    [Fact]
    public void Render_AuthorizedKeyWithLineBreak_IsRejected()
    {
        var spec = CloudInitSamples.Spec() with
        {
            AdminUser = CloudInitSamples.Spec().AdminUser with { SshAuthorizedKeys = [CloudInitSamples.AdminKey + "\nssh-ed25519 AAAA attacker"] },
        };

        var e = Assert.Throws<RenderModelException>(() => CloudInitRenderer.Render(spec));

        Assert.Equal("cloudInit.adminUser.sshAuthorizedKeys[0]", e.FieldPath);
    }

    [Fact]
    public void Render_NoHostKeys_IsRejected()
    {
        var e = Assert.Throws<RenderModelException>(() => CloudInitRenderer.Render(CloudInitSamples.Spec() with { HostKeys = [] }));

        Assert.Equal("cloudInit.hostKeys", e.FieldPath);
    }

    [Fact]
    public void Render_RootAsAdmin_IsRejected()
    {
        var e = Assert.Throws<RenderModelException>(() => CloudInitRenderer.Render(CloudInitSamples.Spec() with { AdminUser = CloudInitSamples.Spec().AdminUser with { Name = "root" } }));

        Assert.Equal("cloudInit.adminUser.name", e.FieldPath);
    }

    [Theory]
    [InlineData("644x", "permissions")]
    [InlineData("rwxr-xr-x", "permissions")]
    public void Render_BadFileMode_IsRejected(string mode, string field)
    {
        var spec = CloudInitSamples.Spec() with { WriteFiles = [new CloudInitFile { Path = "/x", Content = "", Permissions = mode }] };

        var e = Assert.Throws<RenderModelException>(() => CloudInitRenderer.Render(spec));

        Assert.Equal($"cloudInit.writeFiles[0].{field}", e.FieldPath);
    }

    [Fact]
    public void Render_EmptyArgumentVector_IsRejected()
    {
        var e = Assert.Throws<RenderModelException>(() => CloudInitRenderer.Render(CloudInitSamples.Spec() with { RunCommands = [[]] }));

        Assert.Equal("cloudInit.runCommands[0]", e.FieldPath);
    }

    [Fact]
    public void Render_FqdnNotOfHost_IsRejected()
    {
        var e = Assert.Throws<RenderModelException>(() => CloudInitRenderer.Render(CloudInitSamples.Spec() with { Fqdn = "other.dev.internal" }));

        Assert.Equal("cloudInit.fqdn", e.FieldPath);
    }

    private static YamlMappingNode Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private static string? Scalar(YamlMappingNode map, string key) => ((YamlScalarNode)map[key]).Value;

    private static YamlDotNet.Core.ScalarStyle ScalarStyleOf(YamlMappingNode map, string key) => ((YamlScalarNode)map[key]).Style;

    private static IEnumerable<YamlScalarNode> AllScalars(YamlNode node) => node switch
    {
        YamlScalarNode s => [s],
        YamlSequenceNode seq => seq.SelectMany(AllScalars),
        YamlMappingNode map => map.Children.SelectMany(kv => AllScalars(kv.Key).Concat(AllScalars(kv.Value))),
        _ => [],
    };
}
