namespace MailGateway.Core.Delivery;

/// <summary>
/// The relay's sending rate (<see cref="SmtpRelayOptions.MaxMessagesPerPeriod"/> per
/// <see cref="SmtpRelayOptions.RateLimitPeriod"/>): a token bucket that starts full, refilled continuously; a caller
/// without a token waits until one is due (on <see cref="TimeProvider"/>, so tests move the clock).
/// </summary>
internal sealed class RelayRateLimiter
{
    private readonly Lock _lock = new();
    private readonly int _permits;
    private readonly TimeSpan _period;
    private readonly TimeProvider _time;
    private double _tokens;
    private long _refilledAt;
    private long _waits;

    public RelayRateLimiter(int permits, TimeSpan period, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(permits, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        _permits = permits;
        _period = period;
        _time = time;
        _tokens = permits;
        _refilledAt = time.GetTimestamp();
    }

    /// <summary>How often a caller had to wait (for tests and the log).</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Takes a token, waiting until one is due.</summary>
    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        var waited = false;
        while (true)
        {
            TimeSpan wait;
            lock (_lock)
            {
                var now = _time.GetTimestamp();
                _tokens = Math.Min(_permits, _tokens + (_time.GetElapsedTime(_refilledAt, now) / _period * _permits));
                _refilledAt = now;
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    return;
                }

                // The time until the next whole token, at least a millisecond.
                wait = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, (long)Math.Ceiling((1 - _tokens) * _period.Ticks / _permits)));
            }

            if (!waited)
            {
                waited = true;
                Interlocked.Increment(ref _waits);
            }

            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
