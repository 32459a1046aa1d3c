using System.Net;
using MailGateway.Testing;
using static MailGateway.Standalone.Tests.SendApiTests;

namespace MailGateway.Standalone.Tests;

/// <summary>The scopes of API keys (send, read, admin) on every endpoint, through a real Kestrel.</summary>
public sealed class ScopeTests : IAsyncLifetime
{
    private TestRelay _relay = null!;
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync();
        _host = await GatewayHost.StartAsync(_relay, OperatorKeys.Configure);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
    }

    [Fact]
    public async Task A_send_only_key_may_send_but_not_read_its_own_message()
    {
        using var sender = OperatorKeys.Client(_host, OperatorKeys.SendOnly);

        var post = await sender.PostAsync("/api/v1/messages", GatewayHost.Json(GatewayHost.Message()));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var id = (await GatewayHost.ReadAsync(post)).GetProperty("id").GetString();

        var problem = await AssertProblemAsync(await sender.GetAsync($"/api/v1/messages/{id}"), HttpStatusCode.Forbidden, "missing_scope");
        Assert.Contains("'read'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_read_only_key_may_not_send()
    {
        using var reader = OperatorKeys.Client(_host, OperatorKeys.ReadOnly);

        var problem = await AssertProblemAsync(await reader.PostAsync("/api/v1/messages", GatewayHost.Json(GatewayHost.Message())), HttpStatusCode.Forbidden, "missing_scope");

        Assert.Contains("'send'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_read_only_key_gets_404_for_another_keys_message()
    {
        var id = await _host.SendAsync();
        using var reader = OperatorKeys.Client(_host, OperatorKeys.ReadOnly);

        await AssertProblemAsync(await reader.GetAsync($"/api/v1/messages/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_admin_key_reads_every_keys_message_but_may_not_send()
    {
        var id = await _host.SendAsync();
        using var admin = OperatorKeys.Client(_host, OperatorKeys.Admin);

        var get = await admin.GetAsync($"/api/v1/messages/{id}");
        var post = await admin.PostAsync("/api/v1/messages", GatewayHost.Json(GatewayHost.Message()));

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(id, (await GatewayHost.ReadAsync(get)).GetProperty("id").GetString());
        await AssertProblemAsync(post, HttpStatusCode.Forbidden, "missing_scope");
    }

    [Fact]
    public async Task A_key_without_scopes_keeps_send_and_read_of_its_own_messages_only()
    {
        var id = await _host.SendAsync();
        using var other = OperatorKeys.Client(_host, GatewayHost.OtherKey);

        Assert.Equal(HttpStatusCode.OK, (await _host.Client.GetAsync($"/api/v1/messages/{id}")).StatusCode);
        await AssertProblemAsync(await other.GetAsync($"/api/v1/messages/{id}"), HttpStatusCode.NotFound);
    }
}
