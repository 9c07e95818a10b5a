using Provisioner.Engine.Forensics;

namespace Provisioner.Engine.Tests.Forensics;

public sealed class QuarantineRecordTests
{
    [Fact]
    public void ToXmlThenParse_HostileReason_RoundTripsEscaped()
    {
        var record = new QuarantineRecord
        {
            Reason = "</reason><operator>evil</operator> & \"quotes\" 'x' <!--",
            Operator = "alice",
            Since = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero),
            Paused = true,
            Interfaces = ["52:54:00:aa:bb:cc"],
            EvidencePath = "/var/lib/provisioner/evidence/lab/a/20261128T120000Z",
            Step = ReprovisionStep.Captured,
        };

        var xml = record.ToXml();
        var back = QuarantineRecord.Parse(xml);

        Assert.DoesNotContain("<operator>evil", xml, StringComparison.Ordinal);
        Assert.Equal(record.Reason, back.Reason);
        Assert.Equal(record with { Interfaces = back.Interfaces }, back);
        Assert.Equal(record.Interfaces, back.Interfaces);
    }

    [Fact]
    public void Parse_QualifiedInsideDomainXml_FindsBlockByNamespace()
    {
        var xml = $"""
            <domain><metadata>
              <provq:quarantine xmlns:provq="{QuarantineRecord.Namespace}">
                <provq:reason>r</provq:reason><provq:operator>o</provq:operator><provq:since>2026-11-28T12:00:00Z</provq:since><provq:paused>false</provq:paused>
              </provq:quarantine>
            </metadata></domain>
            """;

        var record = QuarantineRecord.Parse(xml);

        Assert.Equal(("r", "o", false), (record.Reason, record.Operator, record.Paused));
    }

    [Fact]
    public void Parse_MissingOperator_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => QuarantineRecord.Parse("<quarantine><reason>r</reason><since>2026-11-28T12:00:00Z</since></quarantine>"));
    }
}
