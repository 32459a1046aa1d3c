using System.Net.Http.Headers;

namespace MailGateway.Client;

/// <summary>The messages resource, <c>/api/v1/messages</c>: <c>client.Messages.SendAsync(…)</c>, <c>client.Messages.GetAsync(id)</c>.</summary>
public class MessagesClient
{
    private const string Path = "api/v1/messages";
    private const int MaxIdempotencyKeyLength = 255;

    private readonly GatewayConnection _connection = null!;

    internal MessagesClient(GatewayConnection connection) => _connection = connection;

    /// <summary>For mocking in tests of your own code: every public member is virtual.</summary>
    protected MessagesClient()
    {
    }

    /// <summary>
    /// <c>POST /api/v1/messages</c>: queue a message. Returns once the gateway has stored it durably (202). A new
    /// <c>Idempotency-Key</c> is generated for this send and sent on every retry, so the message is delivered once
    /// even when an answer was lost and the request retried.
    /// </summary>
    /// <exception cref="MailGatewayException">The gateway refused the message (400 with every field error, 401, 403, 413, 415, 422) or could not be reached after the retries.</exception>
    public virtual Task<AcceptedMessage> SendAsync(EmailMessage message, CancellationToken cancellationToken = default) =>
        SendAsync(message, new SendMessageOptions(), cancellationToken);

    /// <summary>
    /// <c>POST /api/v1/messages</c> with options: with <see cref="SendMessageOptions.IdempotencyKey"/> set, that key is
    /// used (and reused on every retry) instead of a generated one — use a key derived from your own operation (an order
    /// id) to make a send safe to repeat across restarts of your application.
    /// </summary>
    /// <exception cref="MailGatewayException">The gateway refused the message or could not be reached after the retries.</exception>
    public virtual async Task<AcceptedMessage> SendAsync(EmailMessage message, SendMessageOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(options);
        var key = options.IdempotencyKey ?? Guid.NewGuid().ToString("N");
        if (key.Length is 0 or > MaxIdempotencyKeyLength || key.Any(c => c is < ' ' or > '~'))
        {
            throw new ArgumentException($"An Idempotency-Key is 1-{MaxIdempotencyKeyLength} printable ASCII characters.", nameof(options));
        }

        foreach (var attachment in message.Attachments)
        {
            ArgumentNullException.ThrowIfNull(attachment, nameof(message));
            await attachment.LoadAsync(cancellationToken);
        }

        // Buffered: every retry sends the same bytes (a stream could be read only once).
        var content = new ByteArrayContent(EmailMessageJson.Serialize(message));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        var accepted = await _connection.SendAsync(HttpMethod.Post, Path, content, ClientJsonContext.Default.AcceptedMessage, key, cancellationToken);
        accepted.IdempotencyKey = key;
        return accepted;
    }

    /// <summary>
    /// <c>POST /api/v1/messages/batch</c>: up to 500 messages in one request, one result per message (a refused message
    /// does not refuse the others; the accepted ones are durable in one commit). Each message gets a generated
    /// idempotency key, sent again on every retry, so a retried batch delivers each message once.
    /// </summary>
    /// <exception cref="MailGatewayException">The whole batch was refused (400: none or more than 500 messages, a malformed one; 413; 415; 401; 403 without the <c>send</c> scope) or there was no answer after the retries.</exception>
    public virtual Task<BatchResult> SendBatchAsync(IReadOnlyList<EmailMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return SendBatchAsync([.. messages.Select(m => new BatchMessage { Message = m })], cancellationToken);
    }

    /// <summary><c>POST /api/v1/messages/batch</c> with your own idempotency keys (<see cref="BatchMessage.IdempotencyKey"/>).</summary>
    /// <exception cref="MailGatewayException">The whole batch was refused or there was no answer after the retries.</exception>
    public virtual async Task<BatchResult> SendBatchAsync(IReadOnlyList<BatchMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var keys = new List<string>(messages.Count);
        foreach (var item in messages)
        {
            ArgumentNullException.ThrowIfNull(item, nameof(messages));
            ArgumentNullException.ThrowIfNull(item.Message, nameof(messages));
            var key = item.IdempotencyKey ?? Guid.NewGuid().ToString("N");
            if (key.Length is 0 or > MaxIdempotencyKeyLength || key.Any(c => c is < ' ' or > '~'))
            {
                throw new ArgumentException($"An idempotency key is 1-{MaxIdempotencyKeyLength} printable ASCII characters.", nameof(messages));
            }

            keys.Add(key);
            foreach (var attachment in item.Message.Attachments)
            {
                ArgumentNullException.ThrowIfNull(attachment, nameof(messages));
                await attachment.LoadAsync(cancellationToken);
            }
        }

        var result = await _connection.SendAsync(HttpMethod.Post, Path + "/batch", GatewayConnection.Json(BatchJson.Serialize(messages, keys)),
            ClientJsonContext.Default.BatchResult, null, cancellationToken);
        foreach (var item in result.Results)
        {
            if (item.Index >= 0 && item.Index < keys.Count)
            {
                item.IdempotencyKey = keys[item.Index];
            }
        }

        return result;
    }

    /// <summary>
    /// Every message matching <paramref name="query"/>, newest first, page after page (<see cref="ListAsync"/> with each
    /// page's cursor) as you enumerate; <see cref="MessageListQuery.Limit"/> is the page size.
    /// </summary>
    public virtual async IAsyncEnumerable<MessageSummary> ListAllAsync(MessageListQuery? query = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        query ??= new MessageListQuery();
        var cursor = query.Cursor;
        do
        {
            var page = await ListAsync(new MessageListQuery
            {
                Status = query.Status, Tag = query.Tag, Recipient = query.Recipient, From = query.From,
                Since = query.Since, Until = query.Until, Limit = query.Limit, Cursor = cursor,
            }, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary><c>GET /api/v1/messages/{id}</c>: the status of a message sent with the same API key, with every attempt and per-recipient results.</summary>
    /// <exception cref="MailGatewayException">404 (<see cref="MailGatewayException.IsNotFound"/>) for an unknown id or one sent with another key; 401; no answer after the retries.</exception>
    public virtual Task<MessageDetails> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return _connection.SendAsync(HttpMethod.Get, $"{Path}/{Uri.EscapeDataString(id)}", null, ClientJsonContext.Default.MessageDetails, null, cancellationToken);
    }
    /// <summary>
    /// Cancels a queued, scheduled or deferred message (<c>POST /api/v1/messages/{id}/cancel</c>): it becomes
    /// <see cref="MessageStatus.Canceled"/> and is never sent. Needs the <c>send</c> scope (own messages) or <c>admin</c>.
    /// </summary>
    /// <exception cref="MailGatewayException">409 when the message is sending or already final; 404; 403 without the scope.</exception>
    public virtual Task<MessageDetails> CancelAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return _connection.SendAsync(HttpMethod.Post, $"{Path}/{Uri.EscapeDataString(id)}/cancel", null, ClientJsonContext.Default.MessageDetails, null, cancellationToken);
    }

    /// <summary>
    /// One page of messages, newest first (<c>GET /api/v1/messages</c>): the key's own (scope <c>read</c>) or every
    /// key's (scope <c>admin</c>). Pass the page's <see cref="MessagePage.NextCursor"/> as <see cref="MessageListQuery.Cursor"/> for the next one.
    /// </summary>
    public virtual Task<MessagePage> ListAsync(MessageListQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new MessageListQuery();
        var parameters = new List<string>();
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                parameters.Add(name + "=" + Uri.EscapeDataString(value));
            }
        }

        Add("status", query.Status?.ToString());
        Add("tag", query.Tag);
        Add("recipient", query.Recipient);
        Add("from", query.From);
        Add("since", query.Since?.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Add("until", query.Until?.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Add("cursor", query.Cursor);
        Add("limit", query.Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var path = parameters.Count == 0 ? Path : Path + "?" + string.Join('&', parameters);
        return _connection.SendAsync(HttpMethod.Get, path, null, ClientJsonContext.Default.MessagePage, null, cancellationToken);
    }
}
