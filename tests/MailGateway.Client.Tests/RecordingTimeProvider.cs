using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace MailGateway.Client.Tests;

/// <summary>A <see cref="FakeTimeProvider"/> that tells which timers were asked for: a retry's pause is a timer.</summary>
internal sealed class RecordingTimeProvider : FakeTimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _dueTimes = new();

    public IReadOnlyList<TimeSpan> DueTimes => [.. _dueTimes];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        _dueTimes.Enqueue(dueTime);
        return base.CreateTimer(callback, state, dueTime, period);
    }
}
