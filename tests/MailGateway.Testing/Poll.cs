using System.Diagnostics;

namespace MailGateway.Testing;

/// <summary>
/// The one wait of the tests: poll a condition until it holds or a deadline passes (then fail, saying what was seen).
/// For work that signals nothing the test can await; never a fixed sleep, never a timing assertion.
/// </summary>
public static class Poll
{
    /// <summary>The deadline when a test gives none.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    /// <summary>The pause between two looks.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Returns once <paramref name="condition"/> holds; runs <paramref name="eachPoll"/> after every miss (e.g. to advance a fake clock).</summary>
    /// <exception cref="TimeoutException">The condition did not hold before the deadline; the message is <paramref name="describe"/>'s.</exception>
    public static Task UntilAsync(Func<bool> condition, Func<string>? describe = null, TimeSpan? deadline = null, Action? eachPoll = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return UntilAsync(() => Task.FromResult(condition()), describe, deadline, eachPoll);
    }

    /// <summary>Returns once <paramref name="condition"/> holds; runs <paramref name="eachPoll"/> after every miss.</summary>
    /// <exception cref="TimeoutException">The condition did not hold before the deadline.</exception>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string>? describe = null, TimeSpan? deadline = null, Action? eachPoll = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await UntilAsync(async () => await condition(), done => done, describe is null ? null : _ => describe(), deadline, eachPoll);
    }

    /// <summary>Reads <paramref name="probe"/> until <paramref name="done"/> accepts its value, and returns that value.</summary>
    /// <exception cref="TimeoutException">No accepted value before the deadline; the message describes the last one.</exception>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, Func<T, string>? describe = null, TimeSpan? deadline = null, Action? eachPoll = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(done);
        var limit = deadline ?? DefaultDeadline;
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException($"Not reached within {limit}: {describe?.Invoke(value) ?? "the condition did not hold"}.");
            }

            eachPoll?.Invoke();
            await Task.Delay(Interval);
        }
    }
}
