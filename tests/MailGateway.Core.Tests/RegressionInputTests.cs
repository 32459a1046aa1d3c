using System.Net;
using System.Text;
using MailGateway.Core.Webhooks;
using MailGateway.Testing;

namespace MailGateway.Core.Tests;

/// <summary>
/// Every fuzz input that once broke a target's contract (tests/MailGateway.Core.Tests/Regressions, named after the
/// target), through the same entry point as the target: the first byte is the target's flags byte.
/// </summary>
public sealed class RegressionInputTests
{
    public static TheoryData<string> WebhookUrlInputs()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(RepositoryRoot.Combine("tests", "MailGateway.Core.Tests", "Regressions"), "webhook-url-*").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WebhookUrlInputs))]
    public void A_webhook_url_to_a_refused_address_is_refused_by_the_url_check_and_at_connect(string file)
    {
        var input = File.ReadAllBytes(RepositoryRoot.Combine("tests", "MailGateway.Core.Tests", "Regressions", file));
        var options = new WebhookOptions { AllowLoopback = (input[0] & 1) != 0, AllowPrivateNetworks = (input[0] & 2) != 0 };
        var url = Encoding.UTF8.GetString(input.AsSpan(1));

        Assert.NotNull(options.UrlProblem(url));
        var host = new Uri(url).DnsSafeHost.TrimEnd('.');
        Assert.True(IPAddress.TryParse(host, out var address), host);
        Assert.False(WebhookAddressPolicy.Allows(address, options), address.ToString());
    }
}
