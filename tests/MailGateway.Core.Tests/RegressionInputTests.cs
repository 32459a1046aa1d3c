using System.Net;
using System.Text;
using MailGateway.Core.Bounces;
using MailGateway.Core.Dkim;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Submissions;
using MailGateway.Core.Webhooks;
using MailGateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Tests;

/// <summary>
/// Every fuzz input that once broke a target's contract (tests/MailGateway.Core.Tests/Regressions, named after the
/// target), through the same entry point as the target (bench/fuzz/MailGateway.Fuzz): the first byte is the target's
/// flags byte, the rest the input.
/// </summary>
public sealed class RegressionInputTests : IDisposable
{
    private readonly EmbeddedFixture _f = new(sqliteContent: true);

    public void Dispose() => _f.Dispose();

    public static TheoryData<string> WebhookUrlInputs() => Inputs("webhook-url-");

    public static TheoryData<string> DsnInputs() => Inputs("dsn-");

    public static TheoryData<string> SubmissionInputs() => Inputs("submission-");

    [Theory]
    [MemberData(nameof(WebhookUrlInputs))]
    public void A_webhook_url_to_a_refused_address_is_refused_by_the_url_check_and_at_connect(string file)
    {
        var input = Read(file);
        var options = new WebhookOptions { AllowLoopback = (input[0] & 1) != 0, AllowPrivateNetworks = (input[0] & 2) != 0 };
        var url = Encoding.UTF8.GetString(input.AsSpan(1));

        Assert.NotNull(options.UrlProblem(url));
        if (IPAddress.TryParse(new Uri(url).DnsSafeHost.TrimEnd('.'), out var address))
        {
            Assert.False(WebhookAddressPolicy.Allows(address, options), address.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(DsnInputs))]
    public void A_report_that_cannot_be_read_is_not_a_report(string file)
    {
        using var stream = new MemoryStream(Read(file)[1..], writable: false);

        Assert.Equal(BounceReportKind.None, BounceReport.Read(stream, CancellationToken.None).Kind);
    }

    [Theory]
    [MemberData(nameof(SubmissionInputs))]
    public async Task A_submitted_message_is_refused_or_stored_as_smtp_data_with_a_Message_ID(string file)
    {
        var input = Read(file);
        var limits = Options.Create(new MessageLimitsOptions());
        var signer = new DkimMessageSigner(Options.Create(new DkimOptions()), _f.Time, NullLogger<DkimMessageSigner>.Instance);
        var submission = new MimeMessageSubmission(new MessageValidator(limits), limits, signer, _f.Acceptor, _f.Time, NullLogger<MimeMessageSubmission>.Instance);
        var request = new MimeSubmissionRequest
        {
            Sender = new VerifiedApiKey("fuzz", ["example.com"]),
            Envelope = new Envelope((input[0] & 1) == 0 ? "app@example.com" : "app@elsewhere.test", ["rcpt0@example.net"]),
            Content = input.AsMemory(1),
        };

        var result = await submission.SubmitAsync(request, CancellationToken.None);

        if (result.Outcome != SubmissionOutcome.Accepted)
        {
            Assert.NotEmpty(result.Errors!);
            return;
        }

        var record = await _f.Status.GetAsync(result.MessageId!, CancellationToken.None);
        var stored = await _f.SqliteContent.ReadAllAsync(record!.ContentReference!);
        Assert.True(WireScan.Of(stored).IsValidSmtpData);
        var headers = Encoding.ASCII.GetString(stored).Split("\r\n\r\n")[0].Split("\r\n");
        Assert.Single(headers, h => h.StartsWith("Message-Id:", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(headers, h => h.StartsWith("Bcc:", StringComparison.OrdinalIgnoreCase));
    }

    private static TheoryData<string> Inputs(string prefix)
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Folder, prefix + "*").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    private static string Folder => RepositoryRoot.Combine("tests", "MailGateway.Core.Tests", "Regressions");

    private static byte[] Read(string file) => File.ReadAllBytes(Path.Combine(Folder, file));
}
