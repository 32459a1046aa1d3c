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
        using var engine = CreateEngine(target[0], int.Parse(target[1], CultureInfo.InvariantCulture), concurrency, meters.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var composed = Compose(sizeKb);

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

    /// <summary>The engine as the benchmarks use it: one relay endpoint, TLS off by explicit option, no connect retries, a pool of <paramref name="concurrency"/>.</summary>
    internal static SmtpDeliveryEngine CreateEngine(string host, int port, int concurrency, System.Diagnostics.Metrics.IMeterFactory meterFactory) =>
        new(Options.Create(new SmtpRelayOptions
        {
            Host = host,
            Endpoints = [new RelayEndpoint { Port = port, Tls = RelayTlsMode.StartTls }],
            TlsPolicy = RelayTlsPolicy.None,
            ConnectRetries = 0,
            MaxIdleConnections = concurrency,
        }), TimeProvider.System, NullLogger<SmtpDeliveryEngine>.Instance, new DeliveryMetrics(meterFactory));

    /// <summary>A text message of about <paramref name="sizeKb"/> KB, composed as the API composes it.</summary>
    internal static ComposedMessage Compose(int sizeKb)
    {
        var composer = new MessageComposer(Options.Create(new MessageLimitsOptions()), TimeProvider.System);
        var body = string.Join("\r\n", Enumerable.Repeat(new string('x', 76), sizeKb * 1024 / 78));
        return composer.Compose(new OutboundMessage
        {
            From = new EmailAddress("bench@example.test"),
            To = [new EmailAddress("sink@example.test")],
            Subject = "bench",
            Text = body,
        }, "bench");
    }
}
