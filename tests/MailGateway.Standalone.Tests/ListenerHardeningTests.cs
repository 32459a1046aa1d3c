using System.Globalization;
using System.Net;
using System.Text;
using MailGateway.Listener;
using MailGateway.Core.Inbound;
using MailGateway.Listener.Storage;
using MailGateway.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Standalone.Tests;

/// <summary>
/// The inbound listener's hardening (issue 11), reproduced with raw bytes on every host that runs it: the Inbound
/// host's registration, the standalone receiver and the standalone capture.
/// </summary>
public sealed class ListenerHardeningTests
{
    private const string Rcpt = "@" + ListenerHost.Domain + ">";

    public static TheoryData<ListenerRole> Roles => new() { ListenerRole.Inbound, ListenerRole.Receiver, ListenerRole.Capture };

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Quoted_local_parts_are_read_per_RFC_5321_and_recorded_exactly(ListenerRole role)
    {
        await using var host = await ListenerHost.StartAsync(role);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(host.Port);

        // Regex.Unescape in SmtpServer: "\k" and "\q" threw (no reply, session closed), "\x61" became "a".
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<\"a\\k\"@remote.test>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<\"x\\q\"" + Rcpt)).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<\"\\x61dmin\"" + Rcpt)).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<\"a b\"" + Rcpt)).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<admin" + Rcpt)).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("Subject: quoted\r\n\r\nHello.\r\n.")).Code);

        var (from, to) = host.SingleStoredEnvelope();
        Assert.Equal("\"a\\k\"@remote.test", from);
        Assert.Equal(["\"x\\q\"@example.test", "\"\\x61dmin\"@example.test", "\"a b\"@example.test", "admin@example.test"], to);
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task RCPTs_beyond_MaxRecipients_get_452_without_ending_the_session_and_the_accepted_ones_get_the_message(ListenerRole role)
    {
        await using var host = await ListenerHost.StartAsync(role);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(host.Port);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@remote.test>")).Code);
        var replies = new List<RawSmtpReply>();
        for (var i = 0; i < 110; i++)
        {
            replies.Add(await client.CommandAsync($"RCPT TO:<r{i}" + Rcpt));
        }

        // RFC 5321 4.5.3.1.10: the client goes on to DATA with the first 100; the 452s are not errors (MaxErrors is 5).
        Assert.All(replies.Take(100), r => Assert.Equal(250, r.Code));
        Assert.All(replies.Skip(100), r => Assert.Equal("452 4.5.3 Too many recipients", r.Text));
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("Subject: many\r\n\r\nHello all.\r\n.")).Code);

        var (_, to) = host.SingleStoredEnvelope();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"r{i}@example.test"), to);
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Invalid_UTF8_and_non_ASCII_without_SMTPUTF8_are_refused_and_UTF8_addresses_are_recorded_exactly(ListenerRole role)
    {
        await using var host = await ListenerHost.StartAsync(role);
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(host.Port);

        Assert.StartsWith("501 ", (await client.CommandAsync(Bytes("MAIL FROM:<", [0xFF, 0xFE], "@remote.test>"))).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@remote.test>")).Code);
        Assert.StartsWith("501 ", (await client.CommandAsync(Bytes("RCPT TO:<", [0xFF, 0xFE], Rcpt))).Text, StringComparison.Ordinal);
        Assert.StartsWith("501 ", (await client.CommandAsync(Bytes("RCPT TO:<", [0xC3, 0x28], Rcpt))).Text, StringComparison.Ordinal);
        Assert.StartsWith("553 5.6.7 ", (await client.CommandAsync(Utf8("RCPT TO:<pelé" + Rcpt))).Text, StringComparison.Ordinal);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);

        // With SMTPUTF8 (RFC 6531) the same UTF-8 address is accepted, and recorded as sent.
        Assert.Equal(250, (await client.CommandAsync(Utf8("MAIL FROM:<jörg@remote.test> SMTPUTF8"))).Code);
        Assert.Equal(250, (await client.CommandAsync(Utf8("RCPT TO:<pelé" + Rcpt))).Code);
        Assert.Equal(250, (await client.CommandAsync(Utf8("RCPT TO:<\"jo sé\"" + Rcpt))).Code);
        Assert.StartsWith("501 ", (await client.CommandAsync(Bytes("RCPT TO:<", [0xFE, 0xFF], Rcpt))).Text, StringComparison.Ordinal);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("Subject: utf8\r\n\r\nHello.\r\n.")).Code);

        var (from, to) = host.SingleStoredEnvelope();
        Assert.Equal("jörg@remote.test", from);
        Assert.Equal(["pelé@example.test", "\"jo sé\"@example.test"], to);
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task A_hung_store_answers_451_4_3_0_after_StoreTimeout(ListenerRole role)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var hung = new HungEndpoint();
        using var blocking = new BlockingStore();
        var settings = new Dictionary<string, string> { ["StoreTimeout"] = "00:00:30" };
        var blob = role == ListenerRole.Inbound;
        if (blob)
        {
            // The Container Apps host stores in Blob: a storage endpoint that accepts the connection and never answers.
            settings["Store"] = "Blob";
            settings["@MailGateway:AzureStorage:CreateIfNotExists"] = "false";
            settings["@MailGateway:AzureStorage:ConnectionString"] = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
                + $"BlobEndpoint=http://127.0.0.1:{hung.Port}/devstoreaccount1;";
        }

        // The standalone host writes files (capture and receiver alike): a store that blocks stands in for a hung disk.

        await using var host = await ListenerHost.StartAsync(role, settings, services =>
        {
            services.AddSingleton<TimeProvider>(time);
            if (!blob)
            {
                services.AddSingleton<IInboundMessageStore>(blocking);
            }
        });
        await using var client = await RawSmtpClient.ConnectAndGreetAsync(host.Port);
        await client.CommandAsync("MAIL FROM:<sender@remote.test>");
        await client.CommandAsync("RCPT TO:<user" + Rcpt);
        await client.CommandAsync("DATA");
        await client.SendAsync("Subject: stuck\r\n\r\nHello.\r\n.\r\n");
        var reply = client.ReadReplyAsync();

        // Time moves once the store is stuck: its request reached the endpoint (the SDK connects in real time), or it blocks.
        await PollAsync(() => blob ? hung.Accepted > 0 : blocking.Blocked > 0);
        var waited = await time.AdvanceUntilAsync(reply, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));

        // Past StoreTimeout (or past the limit, if the bound is missing) the reply must come: waited for in real time.
        Assert.StartsWith("451 4.3.0 ", (await reply.WaitAsync(TimeSpan.FromSeconds(30))).Text, StringComparison.Ordinal);
        Assert.True(waited >= TimeSpan.FromSeconds(30), $"answered after {waited}, before StoreTimeout");
        blocking.Release();
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Failed_AUTH_is_delayed_more_each_time_then_refused_with_454_for_that_address_only(ListenerRole role)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var pfx = TestCertificates.Shared.WriteServerPfxFile("pfx");
        try
        {
            await using var host = await ListenerHost.StartAsync(
                role,
                new()
                {
                    ["Tls:CertificatePath"] = pfx,
                    ["Tls:CertificatePassword"] = "pfx",
                    ["Users:0:UserName"] = "app",
                    ["Users:0:PasswordHash"] = PasswordHash.Create("right", 1000),
                    ["AuthFailureDelay"] = "00:00:01",
                    ["MaxAuthFailuresPerClient"] = "3",
                    ["AuthLockoutDuration"] = "00:15:00",
                },
                services => services.AddSingleton<TimeProvider>(time));
            var attacker = IPAddress.Loopback;
            var other = IPAddress.Parse("127.0.0.2");

            // Three wrong guesses from one address, over two connections: each answer waits longer (1 s, 2 s, 4 s).
            await using (var first = await TlsClientAsync(host.Port, attacker))
            {
                Assert.True(await TimedAuthAsync(first, "wrong", time) >= TimeSpan.FromSeconds(1));
                Assert.True(await TimedAuthAsync(first, "wrong", time) >= TimeSpan.FromSeconds(2));
            }

            await using (var second = await TlsClientAsync(host.Port, attacker))
            {
                Assert.True(await TimedAuthAsync(second, "wrong", time) >= TimeSpan.FromSeconds(4));
            }

            // Then that address is refused before any password is checked, even the right one; another address is not.
            await using (var locked = await TlsClientAsync(host.Port, attacker))
            {
                var refusal = await locked.CommandAsync(AuthPlain("right"));
                Assert.StartsWith("454 4.7.0 ", refusal.Text, StringComparison.Ordinal);
                Assert.True(await locked.IsClosedByServerAsync());
            }

            await using (var elsewhere = await TlsClientAsync(host.Port, other))
            {
                Assert.Equal(235, (await elsewhere.CommandAsync(AuthPlain("right"))).Code);
            }

            // The lockout ends.
            time.Advance(TimeSpan.FromMinutes(16));
            await using var later = await TlsClientAsync(host.Port, attacker);
            Assert.Equal(235, (await later.CommandAsync(AuthPlain("right"))).Code);
        }
        finally
        {
            File.Delete(pfx);
        }
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Near_MaxConnections_idle_sessions_get_the_stress_timeout_and_new_clients_get_in(ListenerRole role)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await ListenerHost.StartAsync(
            role,
            new() { ["MaxConnections"] = "10", ["MaxConnectionsPerClient"] = "5" },
            services => services.AddSingleton<TimeProvider>(time));

        // Two addresses, five idle connections each, fill the listener.
        await using var idle = new RawSmtpClientCollection();
        foreach (var from in new[] { "127.0.0.1", "127.0.0.2" })
        {
            for (var i = 0; i < 5; i++)
            {
                idle.Add(await RawSmtpClient.ConnectAndGreetAsync(host.Port, from: IPAddress.Parse(from)));
            }
        }

        await using (var refused = await RawSmtpClient.ConnectAsync(host.Port, from: IPAddress.Parse("127.0.0.3")))
        {
            Assert.StartsWith("421 4.7.0 ", (await refused.ReadReplyAsync()).Text, StringComparison.Ordinal);
        }

        // Postfix under stress: smtpd_timeout 10 s instead of 300 s. Every idle session is closed after it.
        var replies = idle.Select(c => c.ReadReplyAsync()).ToList();
        var waited = await time.AdvanceUntilAsync(Task.WhenAll(replies), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        var closed = await Task.WhenAll(replies).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(closed, r => Assert.StartsWith("421 4.4.2 ", r.Text, StringComparison.Ordinal));
        Assert.True(waited >= TimeSpan.FromSeconds(10));

        await using var newcomer = await ConnectWhenAdmittedAsync(host.Port, IPAddress.Parse("127.0.0.3"));
        Assert.Equal(250, (await newcomer.CommandAsync("EHLO newcomer.test")).Code);
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Near_MaxConnections_a_one_byte_drip_does_not_keep_a_session_open(ListenerRole role)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await ListenerHost.StartAsync(
            role,
            new() { ["MaxConnections"] = "10", ["MaxConnectionsPerClient"] = "10" },
            services => services.AddSingleton<TimeProvider>(time));
        await using var drips = new RawSmtpClientCollection();
        for (var i = 0; i < 10; i++)
        {
            drips.Add(await RawSmtpClient.ConnectAndGreetAsync(host.Port));
        }

        // One byte every 2 s never completes a command line; under stress the line as a whole has 10 s, so the drip
        // (at 0, 2, 4 and 6 s) does not move the 421 past 10 s; with a per-read timeout it would come at 16 s at the
        // earliest. The drip stops 4 s before the deadline: a byte written as the server closes gets a TCP reset that
        // can discard the 421 unread in the client's buffer (a CI run saw "Connection closed before a reply").
        var replies = drips.Select(c => c.ReadReplyAsync()).ToList();
        var elapsed = TimeSpan.Zero;
        for (var second = 0; second <= 6; second += 2)
        {
            foreach (var (client, reply) in drips.Zip(replies))
            {
                if (!reply.IsCompleted)
                {
                    await SendIgnoringClosedAsync(client, "N");
                }
            }

            elapsed += await time.AdvanceUntilAsync(Task.WhenAll(replies), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        }

        // Then time goes on in small steps, so a deadline the server arms late (under load) still comes due, up to
        // 15 s after the line began: its 10 s plus what MinimumTransferRate allows for 4 bytes (well under 0.1 s) is
        // within that, 16 s is not.
        Assert.Equal(TimeSpan.FromSeconds(8), elapsed);
        elapsed += await time.AdvanceUntilAsync(Task.WhenAll(replies), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(7));
        var closed = await Task.WhenAll(replies).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(closed, r => Assert.StartsWith("421 4.4.2 ", r.Text, StringComparison.Ordinal));
        Assert.InRange(elapsed, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(15));
        await using var newcomer = await ConnectWhenAdmittedAsync(host.Port, IPAddress.Loopback);
        Assert.Equal(250, (await newcomer.CommandAsync("NOOP")).Code);
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Connections_are_limited_per_IPv6_64_as_well_as_per_address(ListenerRole role)
    {
        await using var host = await ListenerHost.StartAsync(
            role, new() { ["MaxConnectionsPerClient"] = "5", ["MaxConnectionsPerIPv6Prefix"] = "2" }, address: "::1");
        await using var first = await RawSmtpClient.ConnectAndGreetAsync(host.Port, address: IPAddress.IPv6Loopback);
        await using var second = await RawSmtpClient.ConnectAndGreetAsync(host.Port, address: IPAddress.IPv6Loopback);
        await using var third = await RawSmtpClient.ConnectAsync(host.Port, IPAddress.IPv6Loopback);

        var reply = await third.ReadReplyAsync();

        Assert.Equal("421 4.7.0 mx.example.test Too many connections from your network, try again later", reply.Text);
        Assert.True(await third.IsClosedByServerAsync());
        Assert.Equal(250, (await first.CommandAsync("NOOP")).Code);
    }

    private static byte[] Bytes(string before, byte[] raw, string after) =>
        [.. Encoding.ASCII.GetBytes(before), .. raw, .. Encoding.ASCII.GetBytes(after)];

    private static byte[] Utf8(string line) => Encoding.UTF8.GetBytes(line);

    private static string AuthPlain(string password) => RawSmtpClient.AuthPlain("app", password);

    private static Task<RawSmtpClient> TlsClientAsync(int port, IPAddress from) => RawSmtpClient.ConnectWithTlsAsync(port, from);

    /// <summary>A failed AUTH: the 535 must come, after the returned fake time.</summary>
    private static async Task<TimeSpan> TimedAuthAsync(RawSmtpClient client, string password, FakeTimeProvider time)
    {
        await client.SendAsync(AuthPlain(password) + "\r\n");
        var reply = client.ReadReplyAsync();
        var waited = await time.AdvanceUntilAsync(reply, TimeSpan.FromMilliseconds(250), TimeSpan.FromMinutes(5));
        Assert.Equal(535, (await reply).Code);
        return waited;
    }

    /// <summary>Connects until the listener has released the closed sessions' slots and greets (poll with a deadline).</summary>
    private static async Task<RawSmtpClient> ConnectWhenAdmittedAsync(int port, IPAddress from)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var client = await RawSmtpClient.ConnectAsync(port, from: from);
            var greeting = await client.ReadReplyAsync();
            if (greeting.Code == 220)
            {
                return client;
            }

            await client.DisposeAsync();
            Assert.True(DateTime.UtcNow < deadline, "still refused: " + greeting.Text);
            await Task.Delay(20);
        }
    }

    private static async Task PollAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Condition not met within 30 s.");
            await Task.Delay(10);
        }
    }

    private static async Task SendIgnoringClosedAsync(RawSmtpClient client, string text)
    {
        try
        {
            await client.SendAsync(text);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
        {
            // Closed by the server already.
        }
    }

    /// <summary>A store whose commit blocks its thread (a hung disk) until released.</summary>
    private sealed class BlockingStore : IInboundMessageStore, IDisposable
    {
        private readonly ManualResetEventSlim _release = new();
        private int _blocked;

        public int Blocked => Volatile.Read(ref _blocked);

        public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

        public ValueTask<IInboundMessageWriter> CreateWriterAsync(string id, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IInboundMessageWriter>(new Writer(this));

        public void Release() => _release.Set();

        public void Dispose()
        {
            _release.Set();
            _release.Dispose();
        }

        private sealed class Writer(BlockingStore store) : IInboundMessageWriter
        {
            public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => ValueTask.CompletedTask;

            public Task<string> CommitAsync(InboundMessageMetadata metadata, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref store._blocked);
                store._release.Wait(CancellationToken.None);
                return Task.FromResult("blocked");
            }

            public void Dispose()
            {
            }
        }
    }
}
