using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Testing;

/// <summary>Driving a server that runs on a <see cref="FakeTimeProvider"/> from a test.</summary>
public static class FakeTimeExtensions
{
    /// <summary>
    /// Advances <paramref name="time"/> by <paramref name="step"/> until <paramref name="until"/> completes (giving the
    /// server a moment after each step to react to its timers), at most <paramref name="limit"/> of fake time and
    /// 30 s of real time. Returns the fake time that passed; the task may still be incomplete when a limit was reached.
    /// </summary>
    public static async Task<TimeSpan> AdvanceUntilAsync(this FakeTimeProvider time, Task until, TimeSpan step, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(until);
        var start = time.GetUtcNow();
        var realDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!until.IsCompleted && time.GetUtcNow() - start < limit && DateTime.UtcNow < realDeadline)
        {
            time.Advance(step);
            await Task.WhenAny(until, Task.Delay(20));
        }

        return time.GetUtcNow() - start;
    }
}
