using System.Buffers;
using MailGateway.Listener.Storage;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// SmtpServer's end of DATA: commits the message our reader already streamed into the store and answers with
/// the outcome. Never throws (the library turns an exception into a permanent 554): any store error is 451 4.3.0,
/// and so is a store that has not committed within <see cref="InboundListenerOptions.StoreTimeout"/> of the final
/// dot (each store call is bounded too, by <see cref="TimeBoundedStore"/>).
/// </summary>
internal sealed class InboundMessageStoreAdapter(ListenerContext shared) : IMessageStore
{
    public async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context);
        var message = session?.Pending;
        if (session is null || message is null)
        {
            // Only our reader produces bodies; anything else would be library-parsed bytes we must not store.
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

            // The last write and the commit share one bound: the client hears within StoreTimeout of its final dot.
            using var storeTime = new CancellationTokenSource(shared.Options.StoreTimeout, shared.TimeProvider);
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, storeTime.Token);
            try
            {
                var (stored, location) = await message.CommitAsync(
                    (size, sha) => new InboundMessageMetadata
                    {
                        Id = message.Id,
                        ReceivedAt = message.ReceivedAt,
                        MailFrom = Address(transaction.From),
                        Recipients = [.. transaction.To.Select(Address)],
                        ClientIp = session.ClientAddress.ToString(),
                        ClientHelo = ReceivedHeader.Sanitize(session.Helo),
                        Tls = context.Pipe.IsSecure,
                        TlsProtocol = context.Pipe.IsSecure ? context.Pipe.SslProtocol.ToString() : null,
                        AuthenticatedUser = context.Authentication.IsAuthenticated ? context.Authentication.User : null,
                        Size = size,
                        Sha256 = sha,
                        MessageId = message.MessageId,
                    },
                    bounded.Token);
                if (stored)
                {
                    Log.MessageStored(shared.Logger, session.ClientAddress, message.Id, message.ContentSize, location);
                    shared.Metrics.Message("stored", message.ContentSize);
                    return Replies.Queued(message.Id);
                }

                Log.StoreFailed(shared.Logger, message.StoreFailure, message.Id);
                shared.Metrics.Message("store_failed");
                return Replies.StorageFailed;
            }
            catch (OperationCanceledException ex) when (storeTime.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                Log.StoreFailed(shared.Logger, new TimeoutException($"The message store did not commit within {shared.Options.StoreTimeout} (MailGateway:Inbound:StoreTimeout).", ex), message.Id);
                shared.Metrics.Message("store_failed");
                return Replies.StorageFailed;
            }
            catch (Exception ex)
            {
                Log.StoreFailed(shared.Logger, ex, message.Id);
                shared.Metrics.Message("store_failed");
                return Replies.StorageFailed;
            }
        }
    }

    private static string Address(IMailbox? mailbox) =>
        mailbox is null || (mailbox.User.Length == 0 && mailbox.Host.Length == 0) ? "" : mailbox.AsAddress();
}
