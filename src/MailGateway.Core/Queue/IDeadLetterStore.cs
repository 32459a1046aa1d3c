namespace MailGateway.Core.Queue;

/// <summary>A dead-lettered job as an operator sees it, with the owner of its message.</summary>
/// <param name="Id">The dead letter's id (a message dead-lettered again after a replay has a new one).</param>
/// <param name="MessageId">The message.</param>
/// <param name="Owner">The API key that sent the message (empty when its status record is gone).</param>
/// <param name="Reason">One of <see cref="DeadLetterReasons"/>.</param>
/// <param name="Description">The last reply or the reason in words.</param>
/// <param name="Attempt">The attempt number of the dead job.</param>
/// <param name="DeliveryCount">How often the queue handed the job out.</param>
/// <param name="DeadLetteredAt">When it was dead-lettered.</param>
/// <param name="Job">The job, or null when its body was not a readable job.</param>
public sealed record DeadLetterEntry(string Id, string MessageId, string Owner, string Reason, string Description, int Attempt, int DeliveryCount, DateTimeOffset DeadLetteredAt, DeliveryJob? Job);

/// <summary>A search of dead letters, newest first.</summary>
public sealed record DeadLetterQuery
{
    /// <summary>The largest page.</summary>
    public const int MaxLimit = 100;

    /// <summary>Only dead letters of this key's messages; null for every key's.</summary>
    public string? Owner { get; init; }

    /// <summary>Only this reason.</summary>
    public string? Reason { get; init; }

    /// <summary>Dead-lettered at or after.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Dead-lettered before.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>The page after this dead letter id (the previous page's next).</summary>
    public string? After { get; init; }

    /// <summary>Page size.</summary>
    public int Limit { get; init; } = 50;
}

/// <summary>One page of dead letters and the id to continue after (null on the last page).</summary>
public sealed record DeadLetterPage(IReadOnlyList<DeadLetterEntry> Items, string? Next);

/// <summary>What a replay did.</summary>
public enum ReplayOutcome
{
    /// <summary>The job is on the queue again as a new attempt; the message is <c>queued</c>.</summary>
    Replayed,

    /// <summary>No such dead letter (also: another replay or a purge took it first).</summary>
    NotFound,

    /// <summary>The dead letter's body is not a readable job, or its message's status record is gone.</summary>
    NotReplayable,
}

/// <summary>The outcome of a replay, with the job enqueued.</summary>
public sealed record ReplayResult(ReplayOutcome Outcome, DeliveryJob? Job = null);

/// <summary>
/// The dead letters of a queue as an operator handles them: list, read, replay (a new attempt of the same message,
/// same id and Message-ID) and purge (with the stored content). A host whose queue cannot do this registers an
/// implementation that throws <see cref="NotSupportedException"/>; the API answers 501.
/// </summary>
public interface IDeadLetterStore
{
    /// <summary>Dead letters matching <paramref name="query"/>, newest first.</summary>
    Task<DeadLetterPage> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken);

    /// <summary>One dead letter, or null.</summary>
    Task<DeadLetterEntry?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the dead letter off and enqueues its job as the next attempt, atomically: of two concurrent replays one
    /// gets <see cref="ReplayOutcome.Replayed"/>, the other <see cref="ReplayOutcome.NotFound"/>.
    /// </summary>
    Task<ReplayResult> ReplayAsync(string id, string reason, CancellationToken cancellationToken);

    /// <summary>Removes the dead letter and its message's stored content; false when there was none.</summary>
    Task<bool> PurgeAsync(string id, CancellationToken cancellationToken);
}

/// <summary>The dead-letter port of a queue that does not offer it (yet): every call throws <see cref="NotSupportedException"/>.</summary>
public sealed class UnsupportedDeadLetterStore : IDeadLetterStore
{
    private static NotSupportedException Unsupported() => new("This host's queue does not offer dead-letter operations.");

    /// <inheritdoc />
    public Task<DeadLetterPage> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken) => throw Unsupported();

    /// <inheritdoc />
    public Task<DeadLetterEntry?> GetAsync(string id, CancellationToken cancellationToken) => throw Unsupported();

    /// <inheritdoc />
    public Task<ReplayResult> ReplayAsync(string id, string reason, CancellationToken cancellationToken) => throw Unsupported();

    /// <inheritdoc />
    public Task<bool> PurgeAsync(string id, CancellationToken cancellationToken) => throw Unsupported();
}
