using System.ComponentModel.DataAnnotations;
using System.Net;

namespace MailGateway.Listener;

/// <summary>Settings of the inbound SMTP listener, bound from the <c>MailGateway:Inbound</c> configuration section.</summary>
public sealed class InboundListenerOptions : IValidatableObject
{
    /// <summary>The configuration section the registration binds.</summary>
    public const string SectionName = "MailGateway:Inbound";

    /// <summary>Host name in the greeting, the EHLO reply and the Received header.</summary>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9]([A-Za-z0-9.\-]{0,252}[A-Za-z0-9])?$", ErrorMessage = "MailGateway:Inbound:ServerName must be a host name.")]
    public string ServerName { get; set; } = "localhost";

    /// <summary>
    /// The domains mail is accepted for; RCPT to any other domain is refused (550 5.7.1). At least one, unless
    /// <see cref="AcceptAllRecipients"/> is on.
    /// </summary>
    public List<string> Domains { get; set; } = [];

    /// <summary>
    /// Capture mode: accept RCPT for any domain (every other address rule and limit still applies). Allowed only when
    /// every endpoint binds a loopback address (127.0.0.0/8 or ::1), so it can never make an internet-facing open
    /// relay; the standalone host uses it to capture its own outbound mail. Default false.
    /// </summary>
    public bool AcceptAllRecipients { get; set; }

    /// <summary>Listening endpoints; when none is configured the host's default ports are used.</summary>
    public List<InboundEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>Largest message accepted, in bytes, counted on the received stream (after dot-unstuffing). Default 25 MiB.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxMessageSize { get; set; } = 25 * 1024 * 1024;

    /// <summary>Recipients per message; RCPT beyond it answers 452 4.5.3. Default 100.</summary>
    [Range(1, 10_000)]
    public int MaxRecipients { get; set; } = 100;

    /// <summary>Longest command line in bytes, CRLF included; longer lines answer 500 5.5.6. Default 2048.</summary>
    [Range(512, 65_536)]
    public int MaxCommandLineLength { get; set; } = 2048;

    /// <summary>Concurrent connections over all endpoints; more are answered 421 4.7.0 and closed. Default 500.</summary>
    [Range(1, 100_000)]
    public int MaxConnections { get; set; } = 500;

    /// <summary>Concurrent connections from one client IP address; more are answered 421 4.7.0 and closed. Default 50.</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerClient { get; set; } = 50;

    /// <summary>
    /// Concurrent connections from one IPv6 /64 network (one host or site; its addresses are free to pick), on top of
    /// <see cref="MaxConnectionsPerClient"/>; more are answered 421 4.7.0 and closed. Default 50.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerIPv6Prefix { get; set; } = 50;

    /// <summary>
    /// Open connections, in percent of <see cref="MaxConnections"/>, from which the listener is under stress and every
    /// session gets <see cref="StressCommandTimeout"/> instead of <see cref="CommandTimeout"/>. Default 80.
    /// </summary>
    [Range(1, 100)]
    public int StressThresholdPercent { get; set; } = 80;

    /// <summary>
    /// Under stress, the time a whole command line (or the TLS handshake, or DATA beyond what
    /// <see cref="MinimumTransferRate"/> allows for the bytes received) may take, also for sessions already waiting when
    /// stress begins: Postfix's <c>smtpd_timeout = ${stress?{10}:{300}}</c> with per-request deadlines. Default 10 s.
    /// </summary>
    public TimeSpan StressCommandTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for a command line, a TLS handshake or the next bytes of DATA. Default 5 minutes (RFC 5321).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The slowest upload still accepted, in bytes per second: the session timeout is
    /// <see cref="CommandTimeout"/> + <see cref="MaxMessageSize"/> / this rate. Default 50 KiB/s.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int MinimumTransferRate { get; set; } = 50 * 1024;

    /// <summary>Consecutive failed commands before the library drops the session. Default 5.</summary>
    [Range(1, 100)]
    public int MaxErrors { get; set; } = 5;

    /// <summary>Failed AUTH attempts before the session is closed. Default 3.</summary>
    [Range(1, 100)]
    public int MaxAuthenticationAttempts { get; set; } = 3;

    /// <summary>
    /// How long the answer to a failed AUTH is held back; it doubles with each further failure from the same client
    /// address (IPv6: /64), up to 16 times this. Zero: no delay. Default 1 s.
    /// </summary>
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Failed AUTH attempts from one client address (IPv6: /64), over all its sessions, after which AUTH from it is
    /// refused with 454 4.7.0 (and the session closed) without checking the password, for
    /// <see cref="AuthLockoutDuration"/>. Default 10.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxAuthFailuresPerClient { get; set; } = 10;

    /// <summary>How long failed AUTH attempts are remembered per client address, and how long a lockout lasts after the last one. Default 15 minutes.</summary>
    public TimeSpan AuthLockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The longest any call into the message store may take (opening, each write, the commit; and the end of DATA as a
    /// whole): after it the client gets 451 4.3.0, so a storage brown-out cannot hold every session. Default 1 minute.
    /// </summary>
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The server certificate for STARTTLS and implicit TLS: a PFX file or a Key Vault certificate.</summary>
    public InboundTlsOptions Tls { get; set; } = new();

    /// <summary>Accounts allowed to AUTH (PLAIN/LOGIN, over TLS only), with PBKDF2 password hashes.</summary>
    public List<InboundUserOptions> Users { get; set; } = [];

    /// <summary>
    /// Where messages go: <see cref="InboundStoreKind.FileSystem"/> (default) or <see cref="InboundStoreKind.Blob"/>
    /// (the Blob store of <c>MailGateway.AzureAdapters</c>, on <c>MailGateway:AzureStorage</c>; the Container Apps host).
    /// </summary>
    public InboundStoreKind Store { get; set; } = InboundStoreKind.FileSystem;

    /// <summary>Filesystem store settings.</summary>
    public FileSystemStoreOptions FileSystem { get; set; } = new();

    /// <summary>The whole-session time limit, sized so that a maximum-size message at the minimum rate still fits.</summary>
    public TimeSpan SessionTimeout => CommandTimeout + TimeSpan.FromSeconds((double)MaxMessageSize / MinimumTransferRate);

    /// <summary>Open connections from which the listener is under stress (<see cref="StressThresholdPercent"/> of <see cref="MaxConnections"/>, at least 1).</summary>
    public int StressThreshold => Math.Max(1, ((MaxConnections * StressThresholdPercent) + 99) / 100);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        const string p = SectionName + ":";
        if ((Domains.Count == 0 && !AcceptAllRecipients) || Domains.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult($"{p}Domains must list at least one domain to accept mail for.", [nameof(Domains)]);
        }

        if (CaptureModeError() is { } captureError)
        {
            yield return new ValidationResult(captureError, [nameof(AcceptAllRecipients)]);
        }

        if (Endpoints.Count == 0)
        {
            yield return new ValidationResult($"{p}Endpoints must list at least one endpoint.", [nameof(Endpoints)]);
        }

        for (var i = 0; i < Endpoints.Count; i++)
        {
            var e = Endpoints[i];
            if (e.Port is < 0 or > 65535)
            {
                yield return new ValidationResult($"{p}Endpoints:{i}:Port must be 0-65535.", [nameof(Endpoints)]);
            }

            if (!IPAddress.TryParse(e.Address, out _))
            {
                yield return new ValidationResult($"{p}Endpoints:{i}:Address must be an IP address.", [nameof(Endpoints)]);
            }

            if (e.ImplicitTls && !Tls.IsConfigured)
            {
                yield return new ValidationResult($"{p}Endpoints:{i}:ImplicitTls needs a certificate ({p}Tls).", [nameof(Endpoints)]);
            }

            if (e.RequireAuthentication && Users.Count == 0)
            {
                yield return new ValidationResult($"{p}Endpoints:{i}:RequireAuthentication needs at least one of {p}Users.", [nameof(Endpoints)]);
            }
        }

        if (CommandTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult($"{p}CommandTimeout must be positive.", [nameof(CommandTimeout)]);
        }

        if (StressCommandTimeout <= TimeSpan.Zero || StressCommandTimeout > CommandTimeout)
        {
            yield return new ValidationResult($"{p}StressCommandTimeout must be positive and at most {p}CommandTimeout.", [nameof(StressCommandTimeout)]);
        }

        // 16 times the delay stays below the five minutes a client waits for a reply (RFC 5321 4.5.3.2).
        if (AuthFailureDelay < TimeSpan.Zero || AuthFailureDelay > TimeSpan.FromSeconds(15))
        {
            yield return new ValidationResult($"{p}AuthFailureDelay must be between 00:00:00 and 00:00:15.", [nameof(AuthFailureDelay)]);
        }

        if (AuthLockoutDuration <= TimeSpan.Zero || AuthLockoutDuration > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult($"{p}AuthLockoutDuration must be positive and at most one day.", [nameof(AuthLockoutDuration)]);
        }

        // A client waits ten minutes for the reply to the final dot (RFC 5321 4.5.3.2.6): the 451 must come before.
        if (StoreTimeout <= TimeSpan.Zero || StoreTimeout > TimeSpan.FromMinutes(10))
        {
            yield return new ValidationResult($"{p}StoreTimeout must be positive and at most 00:10:00.", [nameof(StoreTimeout)]);
        }

        if (SessionTimeout > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult($"{p}CommandTimeout + MaxMessageSize / MinimumTransferRate (the session timeout) must not exceed one day.", [nameof(MinimumTransferRate)]);
        }

        if (MaxConnectionsPerClient > MaxConnections)
        {
            yield return new ValidationResult($"{p}MaxConnectionsPerClient must not exceed {p}MaxConnections.", [nameof(MaxConnectionsPerClient)]);
        }

        if (Tls.CertificatePath is not null && Tls.KeyVaultUri is not null)
        {
            yield return new ValidationResult($"{p}Tls: set either CertificatePath or KeyVaultUri, not both.", [nameof(Tls)]);
        }

        if (Tls.KeyVaultUri is not null && string.IsNullOrWhiteSpace(Tls.KeyVaultCertificateName))
        {
            yield return new ValidationResult($"{p}Tls:KeyVaultCertificateName is required with {p}Tls:KeyVaultUri.", [nameof(Tls)]);
        }

        for (var i = 0; i < Users.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(Users[i].UserName) || !PasswordHash.IsWellFormed(Users[i].PasswordHash))
            {
                yield return new ValidationResult($"{p}Users:{i} needs a UserName and a PasswordHash of the form {PasswordHash.Prefix}$iterations$salt$hash.", [nameof(Users)]);
            }
        }

        if (Store == InboundStoreKind.FileSystem && string.IsNullOrWhiteSpace(FileSystem.Path))
        {
            yield return new ValidationResult($"{p}FileSystem:Path is required with the FileSystem store.", [nameof(FileSystem)]);
        }

        if (FileSystem.Commit == FileSystemCommit.SyncFileSystem && !OperatingSystem.IsLinux())
        {
            yield return new ValidationResult($"{p}FileSystem:Commit=SyncFileSystem needs Linux (syncfs); use SyncFiles.", [nameof(FileSystem)]);
        }
    }

    /// <summary>Why <see cref="AcceptAllRecipients"/> is not allowed with these endpoints, or null when it is off or allowed.</summary>
    internal string? CaptureModeError()
    {
        if (!AcceptAllRecipients)
        {
            return null;
        }

        for (var i = 0; i < Endpoints.Count; i++)
        {
            // An address that does not parse is reported by its own rule; it is never bound either way.
            if (!IPAddress.TryParse(Endpoints[i].Address, out var address) || !IPAddress.IsLoopback(address))
            {
                return $"{SectionName}:AcceptAllRecipients (capture mode: any recipient domain) is allowed only when every endpoint binds a loopback address; "
                    + $"{SectionName}:Endpoints:{i}:Address is '{Endpoints[i].Address}'.";
            }
        }

        return null;
    }
}

/// <summary>One listening endpoint.</summary>
public sealed class InboundEndpointOptions
{
    /// <summary>The local address to bind. Default 0.0.0.0 (all IPv4 addresses).</summary>
    public string Address { get; set; } = "0.0.0.0";

    /// <summary>The port; 0 picks a free one (tests).</summary>
    public int Port { get; set; }

    /// <summary>TLS from the first byte (SMTPS, e.g. port 465) instead of STARTTLS. Needs a certificate.</summary>
    public bool ImplicitTls { get; set; }

    /// <summary>MAIL is refused (530) until the client authenticated.</summary>
    public bool RequireAuthentication { get; set; }
}

/// <summary>The server certificate.</summary>
public sealed class InboundTlsOptions
{
    /// <summary>Path of a PFX (PKCS#12) file with the certificate and its private key.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Password of the PFX file, if any.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// Key Vault URI (e.g. https://myvault.vault.azure.net/); the managed identity needs secret get permission. Read by
    /// the Key Vault certificate source of <c>MailGateway.AzureAdapters</c> (the Container Apps host only).
    /// </summary>
    public Uri? KeyVaultUri { get; set; }

    /// <summary>Name of the certificate in Key Vault.</summary>
    public string? KeyVaultCertificateName { get; set; }

    /// <summary>True when a certificate source is configured (STARTTLS is offered only then).</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(CertificatePath) || KeyVaultUri is not null;
}

/// <summary>An account that may authenticate.</summary>
public sealed class InboundUserOptions
{
    /// <summary>The user name (compared exactly).</summary>
    public string UserName { get; set; } = "";

    /// <summary>A hash made by <see cref="PasswordHash.Create(string)"/>: <c>PBKDF2-SHA256$iterations$salt$hash</c>.</summary>
    public string PasswordHash { get; set; } = "";
}

/// <summary>Which message store the listener writes to.</summary>
public enum InboundStoreKind
{
    /// <summary>Files under <see cref="FileSystemStoreOptions.Path"/> (temp file, fsync, rename): the standalone host.</summary>
    FileSystem,

    /// <summary>
    /// Azure Blob storage (container <c>MailGateway:AzureStorage:InboundContainer</c>): the Container Apps host, which
    /// registers the store from <c>MailGateway.AzureAdapters</c>. A host without it refuses this setting at start.
    /// </summary>
    Blob,
}

/// <summary>Filesystem store settings.</summary>
public sealed class FileSystemStoreOptions
{
    /// <summary>Root folder; messages go to <c>{Path}/inbound/yyyy/MM/dd/{id}.eml</c>. Default <c>data</c>.</summary>
    public string Path { get; set; } = "data";

    /// <summary>
    /// How a message is made durable before its 250; both are a group commit (one leader renames every message that is
    /// ready and makes the renames durable with one sync shared by all of them). <see cref="FileSystemCommit.SyncFileSystem"/>
    /// (Linux, the default there): both files written without fsync, one <c>syncfs(2)</c> a round covering the data of the
    /// messages that just finished DATA and the renames of the previous round; <c>syncfs</c> also writes every other
    /// process's unwritten data on that filesystem, so a folder on its own volume is best. <see cref="FileSystemCommit.SyncFiles"/>
    /// (the default elsewhere): an fsync per file and one folder fsync per round.
    /// </summary>
    public FileSystemCommit Commit { get; set; } = DefaultCommit;

    /// <summary>The default <see cref="Commit"/>: <see cref="FileSystemCommit.SyncFileSystem"/> on Linux, <see cref="FileSystemCommit.SyncFiles"/> elsewhere.</summary>
    public static FileSystemCommit DefaultCommit => OperatingSystem.IsLinux() ? FileSystemCommit.SyncFileSystem : FileSystemCommit.SyncFiles;
}

/// <summary>How the filesystem store makes a message durable (<see cref="FileSystemStoreOptions.Commit"/>).</summary>
public enum FileSystemCommit
{
    /// <summary>
    /// Group commit: both temp files written without fsync; one <c>syncfs(2)</c> a round makes this round's data and
    /// the previous round's renames durable. Linux only (the default there).
    /// </summary>
    SyncFileSystem,

    /// <summary>Per message an fsync of each temp file; a round renames every ready message and shares one folder fsync.</summary>
    SyncFiles,
}
