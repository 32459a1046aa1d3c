using System.Net;
using System.Text;
using MailGateway.Core.Delivery;
using MailGateway.Testing;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using SmtpServer.Protocol;
using static MailGateway.Core.Tests.Delivery.EngineHarness;

namespace MailGateway.Core.Tests.Delivery;

public sealed class SmtpDeliveryEngineTests
{
    [Fact]
    public async Task Delivers_over_587_with_STARTTLS()
    {
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));
        var composed = Compose();

        var outcome = await engine.DeliverAsync(Request(composed), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(relay.Port(RelayEndpointKind.StartTls), outcome.Port);
        Assert.NotNull(outcome.TlsProtocol);
        Assert.Equal(250, outcome.Reply?.Code);
        var received = Assert.Single(relay.Messages);
        Assert.True(received.Secure);
        Assert.Equal("sender@example.com", received.MailFrom);
        Assert.Equal(["rcpt1@example.org"], received.Recipients);
        Assert.All(outcome.Recipients, r => Assert.Equal(RecipientState.Delivered, r.State));
    }

    [Fact]
    public async Task Falls_back_to_465_when_587_refuses()
    {
        using var refused = FreePort.Refused();
        await using var relay = await TestRelay.StartAsync(new() { Endpoints = [RelayEndpointKind.ImplicitTls] });
        using var engine = Engine(Options((refused.Port, RelayTlsMode.StartTls), (relay.Port(RelayEndpointKind.ImplicitTls), RelayTlsMode.ImplicitTls)));

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(relay.Port(RelayEndpointKind.ImplicitTls), outcome.Port);
        Assert.True(Assert.Single(relay.Messages).Secure);
    }

    [Fact]
    public async Task Falls_back_to_2525_when_587_and_465_refuse()
    {
        using var refused587 = FreePort.Refused();
        using var refused465 = FreePort.Refused();
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options(
            (refused587.Port, RelayTlsMode.StartTls),
            (refused465.Port, RelayTlsMode.ImplicitTls),
            (relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(relay.Port(RelayEndpointKind.StartTls), outcome.Port);
        Assert.Single(relay.Messages);
    }

    [Fact]
    public async Task Never_sends_in_clear_when_587_does_not_offer_STARTTLS()
    {
        await using var plain = await TestRelay.StartAsync(new() { Endpoints = [RelayEndpointKind.PlainOnly] });
        using var engine = Engine(Options((plain.Port(RelayEndpointKind.PlainOnly), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Deferred, outcome.Kind);
        Assert.Contains("STARTTLS", outcome.Reason, StringComparison.Ordinal);
        Assert.Empty(plain.Messages);
    }

    [Fact]
    public async Task Moves_on_to_the_next_port_when_587_does_not_offer_STARTTLS()
    {
        await using var plain = await TestRelay.StartAsync(new() { Endpoints = [RelayEndpointKind.PlainOnly] });
        await using var relay = await TestRelay.StartAsync(new() { Endpoints = [RelayEndpointKind.ImplicitTls] });
        using var engine = Engine(Options(
            (plain.Port(RelayEndpointKind.PlainOnly), RelayTlsMode.StartTls),
            (relay.Port(RelayEndpointKind.ImplicitTls), RelayTlsMode.ImplicitTls)));

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Empty(plain.Messages);
        Assert.True(Assert.Single(relay.Messages).Secure);
    }

    [Fact]
    public async Task Never_sends_in_clear_when_465_has_an_untrusted_certificate()
    {
        using var refused = FreePort.Refused();
        await using var untrusted = await TestRelay.StartAsync(new()
        {
            Endpoints = [RelayEndpointKind.ImplicitTls, RelayEndpointKind.StartTls],
            Certificate = TestCertificates.Shared.UntrustedServerCertificate,
        });
        using var engine = Engine(Options(
            (refused.Port, RelayTlsMode.StartTls),
            (untrusted.Port(RelayEndpointKind.ImplicitTls), RelayTlsMode.ImplicitTls),
            (untrusted.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Deferred, outcome.Kind);
        Assert.Contains("TLS handshake failed", outcome.Reason, StringComparison.Ordinal);
        Assert.Empty(untrusted.Messages);
    }

    [Fact]
    public async Task Trusts_a_pinned_certificate_without_a_CA()
    {
        await using var relay = await TestRelay.StartAsync(new() { Certificate = TestCertificates.Shared.UntrustedServerCertificate });
        var options = Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls));
        options.TrustedCaBundlePath = null;
        options.PinnedCertificateSha256 = [TestCertificates.Shared.UntrustedServerCertificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)];
        using var engine = Engine(options);

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
    }

    [Fact]
    public async Task Moves_to_the_next_port_after_a_421_greeting()
    {
        await using var sink = await SmtpSink.StartAsync("-Q", "CONNECT");
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((sink.Port, RelayTlsMode.StartTls), (relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(relay.Port(RelayEndpointKind.StartTls), outcome.Port);
    }

    [Fact]
    public async Task Defers_on_a_4xx_reply_to_RCPT()
    {
        await using var relay = await TestRelay.StartAsync(new()
        {
            RcptReply = _ => new SmtpResponse(SmtpReplyCode.MailboxUnavailable - 100, "4.2.1 Mailbox busy, try later"),
        });
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Deferred, outcome.Kind);
        var recipient = Assert.Single(outcome.Recipients);
        Assert.Equal(RecipientState.Deferred, recipient.State);
        Assert.Equal(450, recipient.Reply?.Code);
        Assert.Equal("4.2.1", recipient.Reply?.EnhancedCode);
        Assert.Empty(relay.Messages);
    }

    [Fact]
    public async Task Delivers_to_the_other_recipient_when_one_is_rejected()
    {
        await using var relay = await TestRelay.StartAsync(new()
        {
            RcptReply = to => to.StartsWith("rcpt2", StringComparison.Ordinal)
                ? new SmtpResponse(SmtpReplyCode.MailboxUnavailable, "5.1.1 No such user")
                : null,
        });
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose(recipients: 2)), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(["rcpt1@example.org"], Assert.Single(relay.Messages).Recipients);
        var rejected = Assert.Single(outcome.Recipients, r => r.Address == "rcpt2@example.org");
        Assert.Equal(RecipientState.Failed, rejected.State);
        Assert.Equal(550, rejected.Reply?.Code);
        Assert.Equal("5.1.1", rejected.Reply?.EnhancedCode);
        Assert.Equal(RecipientState.Delivered, Assert.Single(outcome.Recipients, r => r.Address == "rcpt1@example.org").State);
    }

    [Fact]
    public async Task Defers_the_remaining_recipients_on_552_too_many_recipients()
    {
        var count = 0;
        await using var relay = await TestRelay.StartAsync(new()
        {
            RcptReply = _ => Interlocked.Increment(ref count) > 2
                ? new SmtpResponse(SmtpReplyCode.SizeLimitExceeded, "5.5.3 Too many recipients")
                : null,
        });
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose(recipients: 4)), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Deferred, outcome.Kind);
        Assert.Equal(2, Assert.Single(relay.Messages).Recipients.Count);
        Assert.Equal(["rcpt3@example.org", "rcpt4@example.org"], outcome.PendingRecipients);
        Assert.Equal(2, outcome.Recipients.Count(r => r.State == RecipientState.Delivered));
    }

    [Fact]
    public async Task Fails_on_a_5xx_reply_to_MAIL_without_trying_another_port()
    {
        await using var relay = await TestRelay.StartAsync(new()
        {
            Endpoints = [RelayEndpointKind.StartTls, RelayEndpointKind.ImplicitTls],
            MailReply = _ => new SmtpResponse(SmtpReplyCode.MailboxNameNotAllowed, "5.7.1 Sender not permitted"),
        });
        using var engine = Engine(Options(
            (relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls),
            (relay.Port(RelayEndpointKind.ImplicitTls), RelayTlsMode.ImplicitTls)));

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Failed, outcome.Kind);
        Assert.Equal(553, outcome.Reply?.Code);
        Assert.Equal("5.7.1", outcome.Reply?.EnhancedCode);
        Assert.Equal(1, relay.SessionCount);
        Assert.Empty(relay.Messages);
    }

    [Fact]
    public async Task Fails_on_a_5xx_reply_to_the_final_dot()
    {
        await using var relay = await TestRelay.StartAsync(new()
        {
            DataReply = new SmtpResponse(SmtpReplyCode.TransactionFailed, "5.7.0 Content rejected"),
        });
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Failed, outcome.Kind);
        Assert.Equal(554, outcome.Reply?.Code);
        Assert.All(outcome.Recipients, r => Assert.Equal(RecipientState.Failed, r.State));
    }

    [Fact]
    public async Task Reports_unknown_when_the_connection_drops_after_the_final_dot()
    {
        await using var sink = await SmtpSink.StartAsync("-q", ".");
        var options = Options((sink.Port, RelayTlsMode.StartTls));
        options.TlsPolicy = RelayTlsPolicy.None;
        using var engine = Engine(options);

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Unknown, outcome.Kind);
        Assert.Contains("after the final dot", outcome.Reason, StringComparison.Ordinal);
        Assert.All(outcome.Recipients, r => Assert.Equal(RecipientState.Unknown, r.State));
    }

    [Fact]
    public async Task Defers_when_the_connection_drops_before_the_end_of_DATA()
    {
        await using var sink = await SmtpSink.StartAsync("-q", "DATA");
        var options = Options((sink.Port, RelayTlsMode.StartTls));
        options.TlsPolicy = RelayTlsPolicy.None;
        using var engine = Engine(options);

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Deferred, outcome.Kind);
        Assert.All(outcome.Recipients, r => Assert.Equal(RecipientState.Deferred, r.State));
    }

    [Fact]
    public async Task Delivers_when_a_slow_reply_comes_within_the_timeout()
    {
        var (outcome, relay) = await DeliverWithSlowMailReply(TimeSpan.FromMinutes(4)); // 5-minute command timeout
        await using var _ = relay;

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Single(relay.Messages);
    }

    [Fact]
    public async Task Defers_when_a_reply_does_not_come_within_the_timeout()
    {
        var (outcome, relay) = await DeliverWithSlowMailReply(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        await using var _ = relay;

        Assert.Equal(DeliveryOutcomeKind.Deferred, outcome.Kind);
        Assert.Contains("timed out", outcome.Reason, StringComparison.Ordinal);
        Assert.Empty(relay.Messages);
    }

    // The relay holds its reply to MAIL FROM while the fake clock moves by `delay`, then answers.
    private static async Task<(DeliveryOutcome Outcome, TestRelay Relay)> DeliverWithSlowMailReply(TimeSpan delay)
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var relay = await TestRelay.StartAsync(new()
        {
            BeforeMailReply = async ct =>
            {
                entered.TrySetResult();
                await release.Task.WaitAsync(ct);
            },
        });
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls));
        options.CommandTimeout = TimeSpan.FromMinutes(5);
        using var engine = Engine(options, time);

        var delivery = engine.DeliverAsync(Request(Compose()), CancellationToken.None);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(delay);
        if (delay > options.CommandTimeout)
        {
            // Let the client give up first; the reply must not race the timeout.
            var timedOut = await delivery;
            release.SetResult();
            return (timedOut, relay);
        }

        release.SetResult();
        return (await delivery, relay);
    }

    [Fact]
    public async Task Fails_with_a_reason_when_the_relay_rejects_the_credentials()
    {
        await using var relay = await TestRelay.StartAsync(new()
        {
            Endpoints = [RelayEndpointKind.StartTls, RelayEndpointKind.ImplicitTls],
            Credentials = new NetworkCredential("gateway", "right-password"),
        });
        var options = Options(
            (relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls),
            (relay.Port(RelayEndpointKind.ImplicitTls), RelayTlsMode.ImplicitTls));
        options.UserName = "gateway";
        options.Password = "wrong-password";
        using var engine = Engine(options);

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("relay rejected credentials", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(1, relay.SessionCount);
        Assert.Empty(relay.Messages);
    }

    [Fact]
    public async Task Authenticates_with_the_configured_credentials_over_TLS()
    {
        await using var relay = await TestRelay.StartAsync(new() { Credentials = new NetworkCredential("gateway", "right-password") });
        var options = Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls));
        options.UserName = "gateway";
        options.Password = "right-password";
        using var engine = Engine(options);

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal("gateway", Assert.Single(relay.Messages).AuthenticatedUser);
    }

    [Fact]
    public async Task Sends_150_recipients_in_two_transactions()
    {
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose(recipients: 150)), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal([100, 50], relay.Messages.Select(m => m.Recipients.Count));
        Assert.Equal(150, relay.Messages.SelectMany(m => m.Recipients).Distinct().Count());
        Assert.Equal(150, outcome.Recipients.Count(r => r.State == RecipientState.Delivered));
    }

    [Fact]
    public async Task Delivers_lone_dot_lines_byte_identical_after_unstuffing()
    {
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));
        var composed = Compose(text: "first\r\n.\r\nsecond\n.\r\nthird\r\n..\r\n.leading dot\r\n.\r\n");
        Assert.Contains("\r\n.\r\n", Encoding.ASCII.GetString(composed.Bytes), StringComparison.Ordinal);

        var outcome = await engine.DeliverAsync(Request(composed), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(composed.Bytes, Assert.Single(relay.Messages).Data);
    }

    [Fact]
    public async Task Reuses_one_connection_for_100_sequential_messages()
    {
        await using var relay = await TestRelay.StartAsync();
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        for (var i = 0; i < 100; i++)
        {
            var outcome = await engine.DeliverAsync(Request(Compose($"msg-{i}"), $"msg-{i}"), CancellationToken.None);
            Assert.Equal(DeliveryOutcomeKind.Delivered, outcome.Kind);
        }

        Assert.Equal(100, relay.Messages.Count);
        Assert.Equal(1, relay.SessionCount);
    }

    [Fact]
    public async Task Sends_the_same_Message_ID_on_a_second_attempt()
    {
        var refuse = true;
        await using var relay = await TestRelay.StartAsync(new()
        {
            RcptReply = _ => Volatile.Read(ref refuse) ? new SmtpResponse(SmtpReplyCode.MailboxUnavailable - 100, "4.3.0 Try later") : null,
        });
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));
        var stored = Compose("stable-id").Bytes; // the claim check: what the queue keeps between attempts

        var first = await engine.DeliverAsync(Request(new(MimeMessage.Load(new MemoryStream(stored)), stored, Compose("stable-id").Envelope), "stable-id"), CancellationToken.None);
        Volatile.Write(ref refuse, false);
        var second = await engine.DeliverAsync(Request(new(MimeMessage.Load(new MemoryStream(stored)), stored, Compose("stable-id").Envelope), "stable-id"), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Deferred, first.Kind);
        Assert.Equal(DeliveryOutcomeKind.Delivered, second.Kind);
        var received = MimeMessage.Load(new MemoryStream(Assert.Single(relay.Messages).Data));
        Assert.Equal("stable-id@example.com", received.MessageId);
        Assert.Equal(stored, relay.Messages[0].Data);
    }

    [Fact]
    public async Task Fails_without_sending_when_the_message_exceeds_the_relay_SIZE()
    {
        await using var relay = await TestRelay.StartAsync(new() { MaxMessageSize = 4096 });
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));

        var outcome = await engine.DeliverAsync(Request(Compose(attachment: new byte[8192])), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("SIZE", outcome.Reason, StringComparison.Ordinal);
        Assert.Empty(relay.Messages);
    }

    [Fact]
    public async Task Uses_the_known_size_of_the_stored_message_against_the_relay_SIZE()
    {
        await using var relay = await TestRelay.StartAsync(new() { MaxMessageSize = 4096 });
        using var engine = Engine(Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls)));
        var composed = Compose();
        Assert.True(composed.Bytes.Length < 4096);

        var small = await engine.DeliverAsync(Request(composed) with { Size = composed.Bytes.Length }, CancellationToken.None);
        var large = await engine.DeliverAsync(Request(composed) with { Size = 5000 }, CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Delivered, small.Kind);
        Assert.Equal(DeliveryOutcomeKind.Failed, large.Kind);
        Assert.Contains("5000 bytes", large.Reason, StringComparison.Ordinal);
        Assert.Single(relay.Messages);
    }

    [Fact]
    public async Task Opens_at_most_MaxConnections_to_the_relay_and_the_other_deliveries_wait_for_one()
    {
        var inMail = 0;
        var maxInMail = 0;
        var twoEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var moreEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var relay = await TestRelay.StartAsync(new()
        {
            BeforeMailReply = async ct =>
            {
                var now = Interlocked.Increment(ref inMail);
                InterlockedMax(ref maxInMail, now);
                if (now == 2)
                {
                    twoEntered.TrySetResult();
                }
                else if (now > 2)
                {
                    moreEntered.TrySetResult();
                }

                await release.Task.WaitAsync(ct);
                Interlocked.Decrement(ref inMail);
            },
        });
        var options = Options((relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls));
        options.MaxConnections = 2;
        using var engine = Engine(options);

        var deliveries = Enumerable.Range(0, 6).Select(_ => Task.Run(() => engine.DeliverAsync(Request(Compose()), CancellationToken.None))).ToList();
        await twoEntered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // Without the cap the other four connect at once (the pool is empty): give them the chance to.
        var third = await Task.WhenAny(moreEntered.Task, Task.Delay(TimeSpan.FromMilliseconds(500)));
        Assert.NotSame(moreEntered.Task, third);
        Assert.Equal(2, relay.SessionCount);

        release.SetResult();
        var outcomes = await Task.WhenAll(deliveries).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(outcomes, o => Assert.Equal(DeliveryOutcomeKind.Delivered, o.Kind));
        Assert.Equal(6, relay.Messages.Count);
        Assert.Equal(2, maxInMail);
        Assert.Equal(2, relay.SessionCount); // the waiting deliveries reused the two connections
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
        {
            current = seen;
        }
    }

    [Fact]
    public async Task Tries_the_port_that_last_worked_first()
    {
        using var dead = new DeadPort();
        await using var relay = await TestRelay.StartAsync();
        var options = Options((dead.Port, RelayTlsMode.StartTls), (relay.Port(RelayEndpointKind.StartTls), RelayTlsMode.StartTls));
        options.MaxIdleConnections = 0; // a new connection per message
        using var engine = Engine(options);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(DeliveryOutcomeKind.Delivered, (await engine.DeliverAsync(Request(Compose()), CancellationToken.None)).Kind);
        }

        Assert.Equal(1, dead.Accepted);
        Assert.Equal(3, relay.SessionCount);
    }

    [Fact]
    public async Task Skips_a_port_whose_circuit_is_open()
    {
        using var dead1 = new DeadPort();
        using var dead2 = new DeadPort();
        var options = Options((dead1.Port, RelayTlsMode.StartTls), (dead2.Port, RelayTlsMode.StartTls));
        options.BreakAfterFailures = 2;
        options.BreakDuration = TimeSpan.FromMinutes(10);
        using var engine = Engine(options);

        var outcomes = new List<DeliveryOutcome>();
        for (var i = 0; i < 3; i++)
        {
            outcomes.Add(await engine.DeliverAsync(Request(Compose()), CancellationToken.None));
        }

        Assert.All(outcomes, o => Assert.Equal(DeliveryOutcomeKind.Deferred, o.Kind));
        Assert.Equal(2, dead1.Accepted);
        Assert.Equal(2, dead2.Accepted);
        Assert.Contains("circuit open", outcomes[2].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retries_the_port_list_on_connection_failures_within_one_attempt()
    {
        using var dead = new DeadPort();
        var options = Options((dead.Port, RelayTlsMode.StartTls));
        options.ConnectRetries = 2;
        options.BreakAfterFailures = 100;
        using var engine = Engine(options);

        var outcome = await engine.DeliverAsync(Request(Compose()), CancellationToken.None);

        Assert.Equal(DeliveryOutcomeKind.Deferred, outcome.Kind);
        Assert.Equal(3, dead.Accepted);
    }
}
