using System.Diagnostics;
using System.Globalization;
using MailGateway.Core.Delivery;
using MailGateway.Core.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MailGateway.Bench;

/// <summary>The delivery engine alone: N composed messages to a relay, with C deliveries in flight (TLS off by explicit option).</summary>
internal static class EngineBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var target = args[0].Split(':');
        var messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5000;
        var concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        var sizeKb = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 4;

        using var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var engine = new SmtpDeliveryEngine(Options.Create(new SmtpRelayOptions
        {
            Host = target[0],
            Endpoints = [new RelayEndpoint { Port = int.Parse(target[1], CultureInfo.InvariantCulture), Tls = RelayTlsMode.StartTls }],
            TlsPolicy = RelayTlsPolicy.None,
            ConnectRetries = 0,
            MaxIdleConnections = concurrency,
        }), TimeProvider.System, NullLogger<SmtpDeliveryEngine>.Instance, new DeliveryMetrics(meters.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));

        var composer = new MessageComposer(Options.Create(new MessageLimitsOptions()), TimeProvider.System);
        var body = string.Join("\r\n", Enumerable.Repeat(new string('x', 76), sizeKb * 1024 / 78));
        var composed = composer.Compose(new OutboundMessage
        {
            From = new EmailAddress("bench@example.test"),
            To = [new EmailAddress("sink@example.test")],
            Subject = "bench",
            Text = body,
        }, "bench");

        async Task<int> Worker(int count)
        {
            var failures = 0;
            for (var i = 0; i < count; i++)
            {
                // What the worker does: the stored bytes, as they are.
                var outcome = await engine.DeliverAsync(new DeliveryRequest("bench", composed.Bytes, composed.Envelope), CancellationToken.None);
                if (outcome.Kind != DeliveryOutcomeKind.Delivered)
                {
                    failures++;
                }
            }

            return failures;
        }

        await Worker(Math.Min(200, messages)); // warm-up: JIT, connections
        var stopwatch = Stopwatch.StartNew();
        var perWorker = messages / concurrency;
        var failed = (await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(() => Worker(perWorker))))).Sum();
        stopwatch.Stop();
        var sent = perWorker * concurrency;
        Console.WriteLine(FormattableString.Invariant(
            $"engine: {sent} messages of {composed.Bytes.Length} bytes, {concurrency} in flight: {sent / stopwatch.Elapsed.TotalSeconds:F0} msg/s ({failed} not delivered)"));
        return failed == 0 ? 0 : 1;
    }
}
