using System.Net;
using Microsoft.Extensions.Logging;

namespace MailGateway.Listener;

/// <summary>Source-generated log messages. Email addresses and user names only at Debug.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Inbound SMTP listener on {Endpoint} (implicit TLS: {ImplicitTls}, STARTTLS: {StartTls}, auth required: {AuthRequired})")]
    public static partial void Listening(ILogger logger, EndPoint endpoint, bool implicitTls, bool startTls, bool authRequired);

    [LoggerMessage(2, LogLevel.Warning, "Connection from {Client} refused: {Limit} connection limit reached")]
    public static partial void ConnectionRefused(ILogger logger, IPAddress client, string limit);

    [LoggerMessage(3, LogLevel.Information, "Session from {Client} timed out ({Which} timeout); answered 421 and closed")]
    public static partial void SessionTimedOut(ILogger logger, IPAddress client, string which);

    [LoggerMessage(4, LogLevel.Warning, "{Client} pipelined {Bytes} bytes after STARTTLS; they were dropped, not executed")]
    public static partial void PipelinedAfterStartTls(ILogger logger, IPAddress client, long bytes);

    [LoggerMessage(5, LogLevel.Debug, "{Client} MAIL FROM {Address}")]
    public static partial void MailFrom(ILogger logger, IPAddress client, string address);

    [LoggerMessage(6, LogLevel.Debug, "{Client} relay attempt to {Address} refused")]
    public static partial void RelayDenied(ILogger logger, IPAddress client, string address);

    [LoggerMessage(7, LogLevel.Debug, "{Client} authenticated as {User}")]
    public static partial void Authenticated(ILogger logger, IPAddress client, string user);

    [LoggerMessage(8, LogLevel.Debug, "{Client} failed to authenticate as {User}")]
    public static partial void AuthenticationFailed(ILogger logger, IPAddress client, string user);

    [LoggerMessage(9, LogLevel.Information, "Message {MessageId} from {Client} refused: {Reason}")]
    public static partial void MessageRefused(ILogger logger, IPAddress client, string messageId, string reason);

    [LoggerMessage(10, LogLevel.Information, "Message {MessageId} from {Client} stored ({Size} bytes) at {Location}")]
    public static partial void MessageStored(ILogger logger, IPAddress client, string messageId, long size, string? location);

    [LoggerMessage(11, LogLevel.Error, "Storing message {MessageId} failed; answered 451 4.3.0")]
    public static partial void StoreFailed(ILogger logger, Exception? exception, string messageId);

    [LoggerMessage(12, LogLevel.Error, "End of DATA without a message received by the listener; answered 451 4.3.0")]
    public static partial void NoPendingMessage(ILogger logger);

    [LoggerMessage(13, LogLevel.Information, "Session from {Client} ended with {Error}: {Message}")]
    public static partial void SessionFaulted(ILogger logger, string client, string error, string message);

    [LoggerMessage(14, LogLevel.Information, "Capture mode: recipients in any domain are accepted (loopback endpoints only)")]
    public static partial void CaptureMode(ILogger logger);

    [LoggerMessage(15, LogLevel.Warning, "AUTH from {Client} refused without a password check: too many failed attempts from its address; answered 454 and closed")]
    public static partial void AuthenticationLockedOut(ILogger logger, IPAddress client);

    [LoggerMessage(17, LogLevel.Information, "Submission from {Client}: key {KeyId} may not use this MAIL FROM")]
    public static partial void SenderRefused(ILogger logger, IPAddress client, string keyId);

    [LoggerMessage(16, LogLevel.Warning, "{Connections} connections open: under stress, sessions wait at most {Timeout} for a command")]
    public static partial void StressBegins(ILogger logger, int connections, TimeSpan timeout);
}
