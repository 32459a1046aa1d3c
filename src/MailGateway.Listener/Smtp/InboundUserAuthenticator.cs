using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Protocol;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// AUTH against the configured users' PBKDF2 hashes, over TLS only, throttled per client address
/// (<see cref="AuthThrottle"/>). Always registered: without it SmtpServer falls back to an authenticator that accepts
/// any password.
/// </summary>
internal sealed class InboundUserAuthenticator : IUserAuthenticator
{
    private readonly ListenerContext _shared;
    private readonly AuthThrottle _throttle;
    private readonly Dictionary<string, string> _hashes;
    private readonly string _decoy;

    public InboundUserAuthenticator(ListenerContext shared)
    {
        _shared = shared;
        _throttle = new AuthThrottle(shared.Options, shared.TimeProvider);
        _hashes = shared.Options.Users.ToDictionary(u => u.UserName, u => u.PasswordHash, StringComparer.Ordinal);

        // Unknown users cost as much as known ones, so timing does not tell which names exist.
        _decoy = _hashes.Values.FirstOrDefault() ?? PasswordHash.Create(Guid.NewGuid().ToString(), 1000);
    }

    public bool HasUsers => _hashes.Count > 0;

    public async Task<bool> AuthenticateAsync(ISessionContext context, string user, string password, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context);
        if (!context.Pipe.IsSecure || user is null || password is null || session is null)
        {
            return false;
        }

        var client = session.ClientAddress;
        var known = _hashes.TryGetValue(user, out var hash);
        var outcome = await _throttle.VerifyAsync(client, () => PasswordHash.Verify(password, known ? hash : _decoy) && known, cancellationToken);
        if (outcome is not var (verified, delay))
        {
            Log.AuthenticationLockedOut(_shared.Logger, client);
            throw new SmtpResponseException(Replies.TooManyAuthenticationFailures, quit: true);
        }

        if (verified)
        {
            Log.Authenticated(_shared.Logger, client, user);
            return true;
        }

        Log.AuthenticationFailed(_shared.Logger, client, user);
        if (delay > TimeSpan.Zero)
        {
            // The guesser waits, holding its connection slot (MaxConnectionsPerClient bounds how many it has).
            await Task.Delay(delay, _shared.TimeProvider, cancellationToken);
        }

        return false;
    }
}
