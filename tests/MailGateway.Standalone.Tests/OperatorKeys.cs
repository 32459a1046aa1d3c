using System.Net.Http.Headers;
using MailGateway.Core.Keys;

namespace MailGateway.Standalone.Tests;

/// <summary>API keys with explicit scopes, next to GatewayHost's two default keys (<c>app</c>, <c>other</c>: send + read).</summary>
internal static class OperatorKeys
{
    public const string SendOnly = "test-key-send-only-0123456789";
    public const string ReadOnly = "test-key-read-only-0123456789";
    public const string Admin = "test-key-admin-0123456789";

    /// <summary>Adds the keys <c>sender</c> (send), <c>reader</c> (read) and <c>ops</c> (admin) as keys 2-4.</summary>
    public static void Configure(Dictionary<string, string?> settings)
    {
        Add(settings, 2, "sender", SendOnly, ApiKeyScopes.Send);
        Add(settings, 3, "reader", ReadOnly, ApiKeyScopes.Read);
        Add(settings, 4, "ops", Admin, ApiKeyScopes.Admin);
    }

    public static HttpClient Client(GatewayHost host, string key)
    {
        var client = new HttpClient { BaseAddress = host.Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static void Add(Dictionary<string, string?> settings, int index, string id, string key, string scope)
    {
        var prefix = $"MailGateway:Api:Keys:{index}:";
        settings[prefix + "Id"] = id;
        settings[prefix + "Sha256"] = ApiKeyVerifier.HashKey(key);
        settings[prefix + "AllowedSenderDomains:0"] = "example.com";
        settings[prefix + "Scopes:0"] = scope;
    }
}
