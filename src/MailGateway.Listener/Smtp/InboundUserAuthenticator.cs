using SmtpServer;
using SmtpServer.Authentication;

namespace MailGateway.Listener.Smtp;

/// <summary>
/// AUTH against the configured users' PBKDF2 hashes, over TLS only. Always registered: without it SmtpServer
/// falls back to an authenticator that accepts any password.
/// </summary>
internal sealed class InboundUserAuthenticator : IUserAuthenticator
{
    private readonly ListenerContext _shared;
    private readonly Dictionary<string, string> _hashes;
    private readonly string _decoy;

    public InboundUserAuthenticator(ListenerContext shared)
    {
        _shared = shared;
        _hashes = shared.Options.Users.ToDictionary(u => u.UserName, u => u.PasswordHash, StringComparer.Ordinal);

        // Unknown users cost as much as known ones, so timing does not tell which names exist.
        _decoy = _hashes.Values.FirstOrDefault() ?? PasswordHash.Create(Guid.NewGuid().ToString(), 1000);
    }

    public bool HasUsers => _hashes.Count > 0;

    public Task<bool> AuthenticateAsync(ISessionContext context, string user, string password, CancellationToken cancellationToken)
    {
        var session = InboundSession.From(context);
        if (!context.Pipe.IsSecure || user is null || password is null)
        {
            return Task.FromResult(false);
        }

        var known = _hashes.TryGetValue(user, out var hash);
        var ok = PasswordHash.Verify(password, known ? hash : _decoy) && known;
        if (session is not null)
        {
            if (ok)
            {
                Log.Authenticated(_shared.Logger, session.ClientAddress, user);
            }
            else
            {
                Log.AuthenticationFailed(_shared.Logger, session.ClientAddress, user);
            }
        }

        return Task.FromResult(ok);
    }
}
