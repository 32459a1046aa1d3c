using System.Buffers;
using MailGateway.Core.Messages;
using MailGateway.Core.Submissions;
using MailGateway.Listener.Smtp;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace MailGateway.Listener.Submission;

/// <summary>
/// The end of DATA for submission: the message our reader buffered goes through Core's accept entry
/// (<see cref="MimeMessageSubmission"/> → <see cref="IMessageAcceptor"/>, the same port as the HTTP API), and 250 is
/// answered only once it is durable, with the gateway's message id. Never throws (the library would answer 554).
/// </summary>
internal sealed class SubmissionMessageAdapter(ListenerContext shared, SubmissionServices services) : IMessageStore
{
    public async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context);
        var message = session?.Pending;
        if (session is null || message is null || session.ApiKey is not { } key)
        {
            Log.NoPendingMessage(shared.Logger);
            return Replies.StorageFailed;
        }

        session.Pending = null;
        using (message)
        {
            if (message.Refusal(shared, session.ClientAddress) is { } refusal)
            {
                return refusal;
            }

            try
            {
                await message.FlushAsync(force: true, cancellationToken);
                if (message.StoreFailure is not null || message.Writer is not SubmissionBufferStore.Buffer received)
                {
                    Log.StoreFailed(shared.Logger, message.StoreFailure, message.Id);
                    shared.Metrics.Message("store_failed");
                    return Replies.StorageFailed;
                }

                var request = new MimeSubmissionRequest
                {
                    Sender = key,
                    Envelope = new Envelope(transaction.From.AsAddress(), [.. transaction.To.Select(t => t.AsAddress())]),
                    Content = received.Content,
                };

                // Not cancelled by the session: once the accept began it ends, so the client's retry finds it done or not at all.
                var result = await services.Submission.SubmitAsync(request, CancellationToken.None);
                return Answer(session, message, result);
            }
            catch (Exception ex)
            {
                Log.StoreFailed(shared.Logger, ex, message.Id);
                shared.Metrics.Message("store_failed");
                return Replies.StorageFailed;
            }
        }
    }

    private SmtpResponse Answer(InboundSession session, ReceivedMessage message, SubmissionResult result)
    {
        switch (result.Outcome)
        {
            case SubmissionOutcome.Accepted or SubmissionOutcome.Replayed:
                Log.MessageStored(shared.Logger, session.ClientAddress, result.MessageId!, message.ContentSize, "queue");
                shared.Metrics.Message("stored", message.ContentSize);
                return Replies.Queued(result.MessageId!);
            case SubmissionOutcome.TooLarge:
                shared.Metrics.Message("too_big");
                return Replies.MessageTooBig;
            case SubmissionOutcome.SenderNotAllowed:
                shared.Metrics.Message("sender_not_allowed");
                var error = result.Errors?.FirstOrDefault();
                return error?.Code == MimeMessageSubmission.MissingScope ? Replies.MissingSendScope
                    : error?.Field == "mailFrom" ? Replies.MailFromNotAllowed
                    : Replies.HeaderFromNotAllowed;
            case SubmissionOutcome.Invalid:
                shared.Metrics.Message("invalid");
                return Replies.InvalidMessage(result.Errors?.FirstOrDefault()?.Message ?? "The message is not valid.");
            default:
                Log.StoreFailed(shared.Logger, null, message.Id);
                shared.Metrics.Message("store_failed");
                return Replies.StorageFailed;
        }
    }
}
