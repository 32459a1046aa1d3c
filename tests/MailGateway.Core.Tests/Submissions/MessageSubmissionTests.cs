using System.Diagnostics;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Submissions;
using MailGateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailGateway.Core.Tests.Submissions;

/// <summary>The one accept service above the port: validate → sender rule → compose → size → accept, as values.</summary>
public sealed class MessageSubmissionTests : IDisposable
{
    private readonly EmbeddedFixture _f = new();
    private readonly MessageLimitsOptions _limits = new();

    public void Dispose() => _f.Dispose();

    private MessageSubmission Submission()
    {
        var limits = Microsoft.Extensions.Options.Options.Create(_limits);
        return new MessageSubmission(new MessageValidator(limits), new MessageComposer(limits, _f.Time),
            new MailGateway.Core.Dkim.DkimMessageSigner(Microsoft.Extensions.Options.Options.Create(new MailGateway.Core.Dkim.DkimOptions()), _f.Time, NullLogger<MailGateway.Core.Dkim.DkimMessageSigner>.Instance), _f.Acceptor, _f.Time, NullLogger<MessageSubmission>.Instance);
    }

    private static SubmissionRequest Request(string from = "app@example.com", string? text = "Hello.") => new()
    {
        Sender = new VerifiedApiKey("key-1", ["example.com"]),
        Message = new OutboundMessage
        {
            From = new EmailAddress(from),
            To = [new EmailAddress("b@example.net")],
            Subject = "Hi",
            Text = text,
            Tags = ["t"],
        },
        RequestHash = "hash",
    };

    [Fact]
    public async Task A_valid_message_is_composed_and_accepted_with_its_envelope()
    {
        var result = await Submission().SubmitAsync(Request(), CancellationToken.None);

        Assert.Equal(SubmissionOutcome.Accepted, result.Outcome);
        var job = Assert.Single(await _f.Queue.LeaseAsync(5, TimeSpan.FromMinutes(1), CancellationToken.None)).Job;
        Assert.Equal((result.MessageId, "app@example.com"), (job.MessageId, job.MailFrom));
        Assert.Equal(["b@example.net"], job.Recipients);
        var record = (await _f.Status.GetAsync(result.MessageId!, CancellationToken.None))!;
        Assert.Equal("key-1", record.Owner);
        Assert.Equal(["t"], record.Tags);
    }

    [Fact]
    public async Task The_entry_points_input_errors_come_first_then_every_validation_error()
    {
        var request = Request(text: null) with { InputErrors = [new ValidationError("attachments[0].content", "invalid_base64", "not base64")] };

        var result = await Submission().SubmitAsync(request, CancellationToken.None);

        Assert.Equal(SubmissionOutcome.Invalid, result.Outcome);
        Assert.Equal(["invalid_base64", ValidationCodes.BodyRequired], result.Errors!.Select(e => e.Code));
        Assert.Equal((0, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_sender_outside_the_keys_domains_is_refused_before_anything_is_stored()
    {
        var result = await Submission().SubmitAsync(Request(from: "app@example.org"), CancellationToken.None);

        Assert.Equal(SubmissionOutcome.SenderNotAllowed, result.Outcome);
        Assert.Equal((0, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_composed_message_over_the_limit_is_too_large_and_not_stored()
    {
        _limits.MaxMessageBytes = 1024;

        var result = await Submission().SubmitAsync(Request(text: new string('x', 4000)), CancellationToken.None);

        Assert.Equal(SubmissionOutcome.TooLarge, result.Outcome);
        Assert.Equal(ValidationCodes.MessageTooLarge, Assert.Single(result.Errors!).Code);
        Assert.Equal((0, 0), await _f.Queue.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_store_failure_is_unavailable_with_the_reason()
    {
        await _f.BreakQueueAsync();

        var result = await Submission().SubmitAsync(Request(), CancellationToken.None);

        Assert.Equal((SubmissionOutcome.Unavailable, AcceptResult.NothingAccepted), (result.Outcome, result.Reason));
    }

    [Fact]
    public async Task The_current_activity_is_the_parent_the_job_carries()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "test.submission",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("test.submission");
        using var request = source.StartActivity("POST /api/v1/messages")!;
        request.TraceStateString = "congo=t61rcWkgMzE";

        await Submission().SubmitAsync(Request(), CancellationToken.None);

        var job = Assert.Single(await _f.Queue.LeaseAsync(5, TimeSpan.FromMinutes(1), CancellationToken.None)).Job;
        Assert.Equal(request.Id, job.TraceParent);
        Assert.Equal("congo=t61rcWkgMzE", job.TraceState);
    }
}
