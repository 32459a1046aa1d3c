namespace MailGateway.Listener.Tests;

public sealed class StoreFailureTests
{
    [Theory]
    [InlineData("create")]
    [InlineData("write")]
    [InlineData("commit")]
    public async Task Store_failure_answers_451_4_3_0_never_554_and_the_session_goes_on(string failAt)
    {
        var store = new FailingStore(failAt);
        await using var listener = await TestListener.StartAsync(store: store);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
        await client.CommandAsync("MAIL FROM:<a@remote.test>");
        await client.CommandAsync("RCPT TO:<b@example.test>");
        await client.CommandAsync("DATA");
        var body = string.Concat(Enumerable.Repeat(new string('q', 998) + "\r\n", 200));
        var reply = await client.CommandAsync("Subject: x\r\n\r\n" + body + ".");
        Assert.Equal(451, reply.Code);
        Assert.StartsWith("451 4.3.0 ", reply.Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@remote.test>")).Code);
    }

    [Fact]
    public async Task Filesystem_store_that_cannot_write_answers_451()
    {
        var blocked = Path.Combine(Path.GetTempPath(), "mailgateway-blocked-" + Guid.NewGuid().ToString("N"));
        await using var listener = await TestListener.StartAsync(store: new Listener.Storage.FileSystemInboundMessageStore(blocked));

        // A file where the day's folder should be: creating the message fails like a full or broken disk.
        var today = DateTimeOffset.UtcNow;
        var inbound = Path.Combine(blocked, "inbound", today.ToString("yyyy", System.Globalization.CultureInfo.InvariantCulture), today.ToString("MM", System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(inbound);
        await File.WriteAllTextAsync(Path.Combine(inbound, today.ToString("dd", System.Globalization.CultureInfo.InvariantCulture)), "not a folder");
        try
        {
            await using var client = await RawSmtpClient.ConnectAndGreetAsync(listener.Port);
            await client.CommandAsync("MAIL FROM:<a@remote.test>");
            await client.CommandAsync("RCPT TO:<b@example.test>");
            await client.CommandAsync("DATA");
            Assert.Equal(451, (await client.CommandAsync("Subject: x\r\n\r\nbody\r\n.")).Code);
        }
        finally
        {
            Directory.Delete(blocked, recursive: true);
        }
    }
}
