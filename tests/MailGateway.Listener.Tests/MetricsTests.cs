using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace MailGateway.Listener.Tests;

public sealed class MetricsTests
{
    [Fact]
    public async Task Reports_message_outcomes_and_refused_connections()
    {
        await using var listener = await TestListener.StartAsync(o =>
        {
            o.MaxMessageSize = 2048;
            o.MaxConnectionsPerClient = 1;
        });
        using var messages = new MetricCollector<long>(listener.Listener.Meter, "mailgateway.inbound.messages");
        using var refused = new MetricCollector<long>(listener.Listener.Meter, "mailgateway.inbound.connections.refused");

        await using (var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port))
        {
            await client.CommandAsync("MAIL FROM:<a@remote.test>");
            await client.CommandAsync("RCPT TO:<b@example.test>");
            await client.CommandAsync("DATA");
            Assert.Equal(250, (await client.CommandAsync("Subject: ok\r\n\r\n.")).Code);
            await client.CommandAsync("MAIL FROM:<a@remote.test>");
            await client.CommandAsync("RCPT TO:<b@example.test>");
            await client.CommandAsync("DATA");
            Assert.Equal(552, (await client.CommandAsync(new string('x', 3000) + "\r\n.")).Code);

            await using var second = await RawSmtpClient.ConnectAsync(listener.Port);
            Assert.Equal(421, (await second.ReadReplyAsync()).Code);
        }

        var outcomes = messages.GetMeasurementSnapshot().Select(m => m.Tags["outcome"] as string ?? "").Order().ToArray();
        Assert.Equal(["stored", "too_big"], outcomes);
        var limit = Assert.Single(refused.GetMeasurementSnapshot());
        Assert.Equal("per_client", limit.Tags["limit"]);
    }
}
