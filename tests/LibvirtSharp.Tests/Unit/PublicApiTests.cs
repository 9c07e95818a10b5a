using System.Reflection;
using System.Runtime.InteropServices;

namespace LibvirtSharp.Tests.Unit;

/// <summary>The public surface reads like .NET: no raw pointers, no C names, handles stay internal.</summary>
public sealed class PublicApiTests
{
    private static readonly Type[] s_publicTypes = typeof(Connection).Assembly.GetExportedTypes();

    private static IEnumerable<MemberInfo> PublicMembers() =>
        s_publicTypes.SelectMany(t => t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly));

    private static IEnumerable<Type> SignatureTypes(MemberInfo member) => member switch
    {
        MethodInfo m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType),
        ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
        PropertyInfo p => [p.PropertyType],
        FieldInfo f => [f.FieldType],
        EventInfo e => [e.EventHandlerType!],
        _ => [],
    };

    private static bool IsRaw(Type type)
    {
        while (type.HasElementType)
        {
            if (type.IsPointer)
            {
                return true;
            }

            type = type.GetElementType()!;
        }

        return type == typeof(IntPtr) || type == typeof(UIntPtr) || typeof(SafeHandle).IsAssignableFrom(type)
            || (type.IsGenericType && type.GetGenericArguments().Any(IsRaw));
    }

    [Fact]
    public void PublicSignatures_HaveNoPointersOrHandles()
    {
        var offenders = PublicMembers()
            .Where(m => SignatureTypes(m).Any(IsRaw))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToList();

        Assert.Empty(offenders);
    }

    [Fact]
    public void PublicNames_HaveNoLibvirtCNames()
    {
        var offenders = s_publicTypes.Select(t => t.Name)
            .Concat(PublicMembers().Select(m => m.Name))
            .Where(n => n.StartsWith("vir", StringComparison.Ordinal) || n.Contains('_'))
            .Where(n => !n.StartsWith("get_", StringComparison.Ordinal) && !n.StartsWith("set_", StringComparison.Ordinal)
                && !n.StartsWith("add_", StringComparison.Ordinal) && !n.StartsWith("remove_", StringComparison.Ordinal)
                && n != "<Clone>$" && n != "value__" && !n.StartsWith("op_", StringComparison.Ordinal))
            .ToList();

        Assert.Empty(offenders);
    }

    [Fact]
    public void HandleTypes_AreInternalAndSealed()
    {
        var handles = typeof(Connection).Assembly.GetTypes().Where(t => typeof(SafeHandle).IsAssignableFrom(t) && !t.IsAbstract).ToList();

        Assert.Equal(8, handles.Count);
        Assert.All(handles, h =>
        {
            Assert.True(h.IsSealed, h.Name);
            Assert.False(h.IsPublic, h.Name);
        });
    }

    [Fact]
    public void ObjectTypes_AreSealedAndDisposable()
    {
        Type[] objects = [typeof(Connection), typeof(Domain), typeof(DomainSnapshot), typeof(Network), typeof(StoragePool), typeof(StorageVolume), typeof(NodeDevice)];

        Assert.All(objects, t =>
        {
            Assert.True(t.IsSealed, t.Name);
            Assert.True(typeof(IDisposable).IsAssignableFrom(t), t.Name);
            Assert.Empty(t.GetConstructors());
        });
    }

    [Theory]
    [InlineData(ErrorCode.NoDomain, 42)]
    [InlineData(ErrorCode.NoNetwork, 43)]
    [InlineData(ErrorCode.NoStoragePool, 49)]
    [InlineData(ErrorCode.NoStorageVolume, 50)]
    [InlineData(ErrorCode.NoNodeDevice, 53)]
    [InlineData(ErrorCode.OperationInvalid, 55)]
    [InlineData(ErrorCode.OperationTimeout, 68)]
    [InlineData(ErrorCode.NoDomainSnapshot, 72)]
    [InlineData(ErrorCode.NoDomainMetadata, 80)]
    [InlineData(ErrorCode.AgentUnresponsive, 86)]
    [InlineData(ErrorCode.MultipleDomains, 110)]
    public void ErrorCode_MatchesVirErrorNumber(ErrorCode code, int expected) => Assert.Equal(expected, (int)code);

    [Theory]
    [InlineData(ErrorDomain.Qemu, 10)]
    [InlineData(ErrorDomain.Test, 12)]
    [InlineData(ErrorDomain.Remote, 13)]
    [InlineData(ErrorDomain.Storage, 18)]
    [InlineData(ErrorDomain.Domain, 20)]
    [InlineData(ErrorDomain.Streams, 38)]
    [InlineData(ErrorDomain.Ch, 72)]
    public void ErrorDomain_MatchesVirErrorDomain(ErrorDomain domain, int expected) => Assert.Equal(expected, (int)domain);

    [Fact]
    public void LibvirtException_IsNotFound_CoversEveryMissingObjectKind()
    {
        ErrorCode[] notFound = [ErrorCode.NoDomain, ErrorCode.NoNetwork, ErrorCode.NoStoragePool, ErrorCode.NoStorageVolume, ErrorCode.NoDomainSnapshot, ErrorCode.NoNodeDevice];

        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            var ex = new LibvirtException(ErrorDomain.None, code, "m", "Op");
            Assert.Equal(notFound.Contains(code), ex.IsNotFound);
        }

        var sample = new LibvirtException(ErrorDomain.Qemu, ErrorCode.OperationTimeout, "timed out", "Domain.Shutdown");
        Assert.Equal("Domain.Shutdown: timed out", sample.Message);
        Assert.Equal("timed out", sample.LibvirtMessage);
        Assert.True(sample.IsTransient);
    }
}
