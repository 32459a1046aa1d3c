using System.Net;
using MailGateway.Listener.Smtp;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Listener.Tests;

/// <summary>Failed AUTH is throttled per client address; password hashing cannot be used to starve other clients.</summary>
public sealed class AuthThrottleTests
{
    private static readonly IPAddress Attacker = IPAddress.Loopback;
    private static readonly IPAddress Other = IPAddress.Parse("127.0.0.2");

    private static string AuthPlain(string password) => RawSmtpClient.AuthPlain("app", password);

    [Fact]
    public async Task A_flood_of_guesses_from_one_address_is_hashed_MaxAuthFailuresPerClient_times_then_refused_and_others_still_get_in()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var listener = await TestListener.StartAsync(
            o =>
            {
                o.Users = [new InboundUserOptions { UserName = "app", PasswordHash = PasswordHash.Create("right", 1000) }];
                o.MaxAuthFailuresPerClient = 5;
            },
            timeProvider: time);
        await using var flood = new RawSmtpClientCollection();
        for (var i = 0; i < 20; i++)
        {
            flood.Add(await RawSmtpClient.ConnectWithTlsAsync(listener.Port, Attacker));
        }

        // Twenty guesses at once. Only five are checked (and answered 535 after their delay); fifteen are refused unhashed.
        await Task.WhenAll(flood.Select(c => c.SendAsync(AuthPlain("guess") + "\r\n")));
        var replies = flood.Select(c => c.ReadReplyAsync()).ToList();
        await LimitTests.PollAsync(() => replies.Count(r => r.IsCompleted) == 15);
        Assert.All(replies.Where(r => r.IsCompleted), r => Assert.StartsWith("454 4.7.0 ", r.Result.Text, StringComparison.Ordinal));

        // Meanwhile another address authenticates at once.
        await using (var other = await RawSmtpClient.ConnectWithTlsAsync(listener.Port, Other))
        {
            Assert.Equal(235, (await other.CommandAsync(AuthPlain("right"))).Code);
        }

        await time.AdvanceUntilAsync(Task.WhenAll(replies), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));
        Assert.Equal(5, replies.Count(r => r.Result.Code == 535));
    }

    [Fact]
    public async Task The_delay_doubles_per_failure_up_to_16_times_and_failures_are_forgotten_after_the_lockout_duration()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new InboundListenerOptions
        {
            AuthFailureDelay = TimeSpan.FromSeconds(1),
            MaxAuthFailuresPerClient = 8,
            AuthLockoutDuration = TimeSpan.FromMinutes(15),
        };
        var throttle = new AuthThrottle(options, time);
        var delays = new List<TimeSpan>();
        for (var i = 0; i < 7; i++)
        {
            delays.Add((await throttle.VerifyAsync(Attacker, () => false, CancellationToken.None))!.Value.Delay);
        }

        Assert.Equal([1, 2, 4, 8, 16, 16, 16], delays.Select(d => d.TotalSeconds));

        // The eighth failure locks the address (IPv6: its /64) out; a correct password is then not even checked.
        Assert.NotNull(await throttle.VerifyAsync(Attacker, () => false, CancellationToken.None));
        var hashed = false;
        Assert.Null(await throttle.VerifyAsync(Attacker, () => hashed = true, CancellationToken.None));
        Assert.False(hashed);
        Assert.Equal((true, TimeSpan.Zero), await throttle.VerifyAsync(Other, () => true, CancellationToken.None));

        time.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal((false, TimeSpan.FromSeconds(1)), await throttle.VerifyAsync(Attacker, () => false, CancellationToken.None));
    }

    [Fact]
    public async Task Addresses_of_one_IPv6_64_share_their_failures()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var throttle = new AuthThrottle(new InboundListenerOptions { MaxAuthFailuresPerClient = 2 }, time);
        await throttle.VerifyAsync(IPAddress.Parse("2001:db8:1:2::1"), () => false, CancellationToken.None);
        await throttle.VerifyAsync(IPAddress.Parse("2001:db8:1:2:ffff::7"), () => false, CancellationToken.None);

        Assert.Null(await throttle.VerifyAsync(IPAddress.Parse("2001:db8:1:2::99"), () => true, CancellationToken.None));
        Assert.NotNull(await throttle.VerifyAsync(IPAddress.Parse("2001:db8:1:3::1"), () => true, CancellationToken.None));
    }

    [Fact]
    public async Task Password_checks_run_one_per_address_and_on_at_most_half_the_cores_at_once()
    {
        var throttle = new AuthThrottle(new InboundListenerOptions { MaxAuthFailuresPerClient = 1000 }, TimeProvider.System);
        var slots = Math.Max(1, Environment.ProcessorCount / 2);
        var running = 0;
        var sameAddress = 0;
        var maxRunning = 0;
        var maxSameAddress = 0;
        using var go = new ManualResetEventSlim();
        bool Check(bool fromAttacker)
        {
            InterlockedMax(ref maxRunning, Interlocked.Increment(ref running));
            if (fromAttacker)
            {
                InterlockedMax(ref maxSameAddress, Interlocked.Increment(ref sameAddress));
            }

            // Held until the test has seen the gate full.
            go.Wait(CancellationToken.None);
            if (fromAttacker)
            {
                Interlocked.Decrement(ref sameAddress);
            }

            Interlocked.Decrement(ref running);
            return false;
        }

        var checks = Enumerable.Range(0, 40).Select(i => Task.Run(() => throttle.VerifyAsync(
            i % 2 == 0 ? Attacker : IPAddress.Parse("10.0.0." + (i + 1)), () => Check(i % 2 == 0), CancellationToken.None))).ToList();
        await LimitTests.PollAsync(() => Volatile.Read(ref running) == slots);
        go.Set();
        await Task.WhenAll(checks);

        Assert.Equal(slots, maxRunning);
        Assert.Equal(1, maxSameAddress);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) != current)
        {
            current = Volatile.Read(ref target);
        }
    }
}
