using Provisioner.Engine.Replacement;

namespace Provisioner.Engine.Tests.Replacement;

public sealed class EtcdMemberRemovalTests
{
    private const string ThreeMembers = """
        {"header":{"cluster_id":1,"member_id":2,"raft_term":3},"members":[
          {"ID":12345678901234567890,"name":"cp-1","peerURLs":["https://10.0.0.11:2380"],"clientURLs":["https://10.0.0.11:2379"]},
          {"ID":2,"name":"cp-2","peerURLs":["https://10.0.0.12:2380"]},
          {"ID":3,"name":"cp-3","peerURLs":["https://10.0.0.13:2380"]}]}
        """;

    [Fact]
    public void ParseMemberList_EtcdctlJson_ReadsIdsNamesAndPeers()
    {
        var members = EtcdMemberRemoval.ParseMemberList(ThreeMembers);

        Assert.Equal(3, members.Count);
        Assert.Equal(12345678901234567890UL, members[0].Id);
        Assert.Equal("cp-1", members[0].Name);
        Assert.Equal(["https://10.0.0.11:2380"], members[0].PeerUrls);
    }

    [Fact]
    public void ParseMemberList_NotJson_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => EtcdMemberRemoval.ParseMemberList("Error: context deadline exceeded"));
    }

    [Fact]
    public async Task RemoveAsync_MemberPresent_RemovesExactlyIt()
    {
        var membership = new FakeMembership(EtcdMemberRemoval.ParseMemberList(ThreeMembers));

        var detail = await EtcdMemberRemoval.RemoveAsync(membership, "cp-2", TestContext.Current.CancellationToken);

        Assert.Equal([2UL], membership.Removed);
        Assert.Contains("2 member(s) remain", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveAsync_MemberAbsent_ReportsAlreadyRemoved()
    {
        var membership = new FakeMembership(EtcdMemberRemoval.ParseMemberList(ThreeMembers));

        var detail = await EtcdMemberRemoval.RemoveAsync(membership, "cp-9", TestContext.Current.CancellationToken);

        Assert.Empty(membership.Removed);
        Assert.Contains("already removed", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveAsync_OnlyMember_RefusesAndRemovesNothing()
    {
        var membership = new FakeMembership([new EtcdMember(7, "cp-1", [])]);

        var error = await Assert.ThrowsAsync<EtcdMembershipException>(() => EtcdMemberRemoval.RemoveAsync(membership, "cp-1", TestContext.Current.CancellationToken));

        Assert.Empty(membership.Removed);
        Assert.Contains("only etcd member", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_RunsEtcdctlInTheSurvivorsEtcdPodWithSudo()
    {
        var membership = new KubeadmEtcdMembership(new Hardening.LocalShellSession(), "cp-3");

        var command = membership.Command("member", "remove", "2");

        Assert.True(command.UsesSudo);
        Assert.Equal("kubectl", command.Arguments[0]);
        Assert.Contains("etcd-cp-3", command.Arguments);
        Assert.Equal(["member", "remove", "2"], command.Arguments.TakeLast(3));
    }

    private sealed class FakeMembership(IReadOnlyList<EtcdMember> members) : IEtcdMembership
    {
        public List<ulong> Removed { get; } = [];

        public Task<IReadOnlyList<EtcdMember>> ListAsync(CancellationToken cancellationToken) => Task.FromResult(members);

        public Task RemoveAsync(ulong id, CancellationToken cancellationToken)
        {
            Removed.Add(id);
            return Task.CompletedTask;
        }
    }
}
