using MailGateway.Core.Submissions;
using MailGateway.Testing;
using MailGateway.Testing.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Core.Tests.Submissions;

/// <summary>
/// The accept-port contract on Core's claim check over the embedded stores (file content, SQLite status and queue),
/// which share no transaction here: the sequence and cleanup rules themselves, apart from any Azure SDK. The Azure
/// composition runs the same contract in the adapter tests.
/// </summary>
public sealed class EmbeddedClaimCheckAcceptorContract : MessageAcceptorContract
{
    protected override Task<IAcceptorUnderTest> CreateAsync()
    {
        var f = new EmbeddedFixture(start: Start);
        var acceptor = new ClaimCheckMessageAcceptor(f.Content, f.Status, f.Queue, NullLogger<ClaimCheckMessageAcceptor>.Instance);
        return Task.FromResult<IAcceptorUnderTest>(new EmbeddedAcceptorUnderTest(f, acceptor, f.Content));
    }
}
