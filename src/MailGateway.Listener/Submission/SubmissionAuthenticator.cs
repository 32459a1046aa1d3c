using MailGateway.Core.Keys;
using MailGateway.Listener.Smtp;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Protocol;

namespace MailGateway.Listener.Submission;

/// <summary>
/// AUTH PLAIN/LOGIN for submission, over TLS only (in clear the reader answers 538 before the library sees it): the
/// user name is the API key's id, the password the key, checked by Core's <see cref="ApiKeyVerifier"/>. A failed AUTH
/// counts against the client address twice: the HTTP API's failed-authentication window
/// (<see cref="RateLimitOptions.FailedAuthPerAddress"/>, shared with the HTTP API of the process: 454 and close once
/// exhausted) and the listener's own delay and lockout (<see cref="AuthThrottle"/>).
/// </summary>
internal sealed class SubmissionAuthenticator(ListenerContext shared, SubmissionServices services) : IUserAuthenticator
{
    private readonly AuthThrottle _throttle = new(shared.Options, shared.TimeProvider);

    public async Task<bool> AuthenticateAsync(ISessionContext context, string user, string password, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context);
        if (!context.Pipe.IsSecure || user is null || password is null || session is null)
        {
            return false;
        }

        var client = session.ClientAddress;
        var subject = RateLimitSubject.ForAddress(client);
        using (var probe = services.Limits.Limiter.AttemptAcquire(subject, 0))
        {
            if (!probe.IsAcquired)
            {
                Log.AuthenticationLockedOut(shared.Logger, client);
                throw new SmtpResponseException(Replies.TooManyInvalidKeys, quit: true);
            }
        }

        VerifiedApiKey? key = null;
        var outcome = await _throttle.VerifyAsync(
            client,
            () =>
            {
                var verified = services.Keys.Verify(password);
                key = verified is not null && string.Equals(verified.Id, user, StringComparison.Ordinal) ? verified : null;
                return key is not null;
            },
            cancellationToken);
        if (outcome is not var (ok, delay))
        {
            Log.AuthenticationLockedOut(shared.Logger, client);
            throw new SmtpResponseException(Replies.TooManyAuthenticationFailures, quit: true);
        }

        if (ok)
        {
            session.ApiKey = key;
            Log.Authenticated(shared.Logger, client, user);
            return true;
        }

        Log.AuthenticationFailed(shared.Logger, client, user);
        using (var lease = services.Limits.Limiter.AttemptAcquire(subject))
        {
            if (!lease.IsAcquired)
            {
                Log.AuthenticationLockedOut(shared.Logger, client);
                throw new SmtpResponseException(Replies.TooManyInvalidKeys, quit: true);
            }
        }

        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, shared.TimeProvider, cancellationToken);
        }

        return false;
    }
}
