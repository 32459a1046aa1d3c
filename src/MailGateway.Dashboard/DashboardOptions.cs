using System.ComponentModel.DataAnnotations;

namespace MailGateway.Dashboard;

/// <summary>When the dashboard asks for a key (<see cref="DashboardOptions.SignIn"/>).</summary>
public enum DashboardSignIn
{
    /// <summary>
    /// No sign-in only on a development host: no API key configured (the generated development key is in use) and every
    /// address the host listens on is loopback; the request must come from loopback with a loopback Host header.
    /// Everywhere else a key is asked for.
    /// </summary>
    Auto,

    /// <summary>Always sign in with a key.</summary>
    Required,
}

/// <summary>The web dashboard at <c>/ui</c> (configuration section <c>MailGateway:Dashboard</c>).</summary>
public sealed class DashboardOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MailGateway:Dashboard";

    /// <summary>The path the dashboard is mapped at.</summary>
    public const string Path = "/ui";

    /// <summary>False: no dashboard (every <c>/ui</c> path answers 404). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>When a key is asked for. Default <see cref="DashboardSignIn.Auto"/>.</summary>
    public DashboardSignIn SignIn { get; set; } = DashboardSignIn.Auto;

    /// <summary>How long a session lasts without a request (sliding). Default 8 hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(8);

    /// <summary>
    /// Sends the session cookie only over HTTPS (<c>Secure</c>). Default false: the standalone host speaks plain HTTP
    /// unless TLS is configured on Kestrel or a proxy terminates it; set true behind HTTPS.
    /// </summary>
    public bool SecureCookie { get; set; }
}
