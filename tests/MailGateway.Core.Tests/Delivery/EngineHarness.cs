using MailGateway.Core.Delivery;
using MailGateway.Core.Messages;
using MailGateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MailGateway.Core.Tests.Delivery;

internal static class EngineHarness
{
    private static readonly Lazy<string> CaBundle = new(() => TestCertificates.Shared.WriteAuthorityPemFile());

    public static SmtpRelayOptions Options(params (int Port, RelayTlsMode Tls)[] endpoints) => new()
    {
        Host = "127.0.0.1",
        Endpoints = [.. endpoints.Select(e => new RelayEndpoint { Port = e.Port, Tls = e.Tls })],
        TrustedCaBundlePath = CaBundle.Value,
        ConnectTimeout = TimeSpan.FromSeconds(20),
        CommandTimeout = TimeSpan.FromSeconds(30),
        DataTimeout = TimeSpan.FromSeconds(30),
        ConnectRetries = 0,
        ConnectRetryDelay = TimeSpan.Zero,
    };

    public static SmtpDeliveryEngine Engine(SmtpRelayOptions options, TimeProvider? time = null, System.Diagnostics.Metrics.IMeterFactory? meters = null) =>
        new(Microsoft.Extensions.Options.Options.Create(options), time ?? TimeProvider.System, NullLogger<SmtpDeliveryEngine>.Instance, new DeliveryMetrics(meters ?? new TestMeterFactory()));

    public static ComposedMessage Compose(string id = "msg-1", int recipients = 1, string? text = null, string? recipientPrefix = null, byte[]? attachment = null)
    {
        var composer = new MessageComposer(Microsoft.Extensions.Options.Options.Create(new MessageLimitsOptions { MaxRecipients = 10_000 }), TimeProvider.System);
        return composer.Compose(new OutboundMessage
        {
            From = new EmailAddress("sender@example.com", "Sender"),
            To = [.. Enumerable.Range(1, recipients).Select(i => new EmailAddress($"{recipientPrefix ?? "rcpt"}{i}@example.org"))],
            Subject = "Test " + id,
            Text = text ?? "Hello from the delivery tests.\r\n",
            Attachments = attachment is null ? [] : [new Attachment("data.bin", "application/octet-stream", attachment)],
        }, id);
    }

    public static DeliveryRequest Request(ComposedMessage composed, string id = "msg-1") =>
        new(id, composed.Bytes, composed.Envelope);
}
