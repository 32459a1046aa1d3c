using System.Text;
using MailGateway.Core.Dkim;
using MailGateway.Core.Keys;
using MailGateway.Core.Messages;
using MailGateway.Core.Submissions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Fuzz;

/// <summary>
/// SMTP submission's message check (<see cref="MimeMessageSubmission"/>): raw MIME with a fixed envelope, accepted into
/// memory. The first byte picks the envelope sender (bit 0: a domain the key may not use) and the number of
/// recipients (bits 1-2); the rest is the message. Either a refusal with a reason, or stored bytes that are SMTP data.
/// </summary>
internal static class SubmissionTarget
{
    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero));
    private static readonly IOptions<MessageLimitsOptions> Limits = Options.Create(new MessageLimitsOptions());
    private static readonly Capture Acceptor = new();
    private static readonly VerifiedApiKey Key = new("fuzz", ["example.com", "*.example.org"]);

    private static readonly MimeMessageSubmission Submissions = new(
        new MessageValidator(Limits),
        Limits,
        new DkimMessageSigner(Options.Create(new DkimOptions()), Time, NullLogger<DkimMessageSigner>.Instance),
        Acceptor,
        Time,
        NullLogger<MimeMessageSubmission>.Instance);

    public static void Run(byte[] input)
    {
        var flags = input.Length > 0 ? input[0] : 0;
        var content = input.Length > 0 ? input.AsMemory(1) : input.AsMemory();
        var recipients = Enumerable.Range(0, 1 + ((flags >> 1) & 3)).Select(i => $"rcpt{i}@example.net").ToList();
        var request = new MimeSubmissionRequest
        {
            Sender = Key,
            Envelope = new Envelope((flags & 1) == 0 ? "app@example.com" : "app@elsewhere.test", recipients),
            Content = content,
        };

        Acceptor.Last = null;
        var result = Submissions.SubmitAsync(request, CancellationToken.None).GetAwaiter().GetResult();
        if (result.Outcome != SubmissionOutcome.Accepted)
        {
            if (Acceptor.Last is not null)
            {
                throw new ContractViolation($"{result.Outcome}, yet the acceptor was called");
            }

            if (result.Errors is not { Count: > 0 } errors || errors.Any(e => e.Code.Length == 0 || e.Message.Length == 0))
            {
                throw new ContractViolation($"{result.Outcome} without a reason");
            }

            return;
        }

        var stored = Acceptor.Last ?? throw new ContractViolation("accepted, but nothing reached the acceptor");
        if (result.MessageId != stored.MessageId || !stored.Envelope.Recipients.SequenceEqual(recipients))
        {
            throw new ContractViolation("the stored envelope or id is not the submitted one");
        }

        if (Environment.GetEnvironmentVariable("FUZZ_DUMP") is "1")
        {
            // For looking at a finding: the stored message as the acceptor got it.
            Console.OpenStandardOutput().Write(stored.Content.Span);
        }

        Check(stored.Content.Span);
    }

    /// <summary>CRLF only, lines of at most 998 octets, 7-bit, no Bcc, a Message-ID.</summary>
    private static void Check(ReadOnlySpan<byte> bytes)
    {
        var lineStart = 0;
        var inHeaders = true;
        var messageIds = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] >= 0x80)
            {
                throw new ContractViolation($"an 8-bit octet at {i}");
            }

            if (bytes[i] == '\r' && (i + 1 == bytes.Length || bytes[i + 1] != '\n'))
            {
                throw new ContractViolation($"a bare CR at {i}");
            }

            if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r'))
            {
                throw new ContractViolation($"a bare LF at {i}");
            }

            if (bytes[i] != '\n')
            {
                continue;
            }

            var line = bytes[lineStart..(i - 1)];
            if (line.Length > 998)
            {
                throw new ContractViolation($"a line of {line.Length} octets at {lineStart}");
            }

            if (inHeaders)
            {
                if (line.Length == 0)
                {
                    inHeaders = false;
                }
                else if (line[0] is not ((byte)' ' or (byte)'\t') && line.IndexOf((byte)':') is var colon and > 0)
                {
                    // A line without a colon is not a field (MimeKit keeps it as sent, as an invalid header).
                    var name = Encoding.ASCII.GetString(line[..colon]).Trim();
                    if (name.Equals("Bcc", StringComparison.OrdinalIgnoreCase) || name.Equals("Resent-Bcc", StringComparison.OrdinalIgnoreCase))
                    {
                        throw new ContractViolation($"a {name} header in the stored message");
                    }

                    if (name.Equals("Message-ID", StringComparison.OrdinalIgnoreCase))
                    {
                        messageIds++;
                    }
                }
            }

            lineStart = i + 1;
        }

        if (bytes.Length - lineStart > 998)
        {
            throw new ContractViolation($"a last line of {bytes.Length - lineStart} octets");
        }

        if (messageIds == 0)
        {
            throw new ContractViolation($"{messageIds} Message-ID headers in the stored message");
        }
    }

    private sealed class Capture : IMessageAcceptor
    {
        public Submission? Last { get; set; }

        public Task<AcceptResult> AcceptAsync(Submission submission, CancellationToken cancellationToken)
        {
            Last = submission;
            return Task.FromResult(AcceptResult.Accepted(submission.MessageId, scheduled: false));
        }

        public Task<IReadOnlyList<AcceptResult>> AcceptBatchAsync(IReadOnlyList<Submission> submissions, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<AcceptResult>>([.. submissions.Select(s => AcceptResult.Accepted(s.MessageId, scheduled: false))]);
    }
}
