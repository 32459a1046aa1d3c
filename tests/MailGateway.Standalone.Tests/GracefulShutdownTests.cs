using System.Net;
using System.Net.Http.Headers;
using MailGateway.Testing;

namespace MailGateway.Standalone.Tests;

/// <summary>SIGTERM while a delivery is in flight: the host stops taking work, finishes the delivery, records it, exits 0.</summary>
public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task Sigterm_finishes_the_in_flight_delivery_before_exiting()
    {
        var inData = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var relay = await TestRelay.StartAsync(new TestRelayOptions
        {
            Endpoints = [RelayEndpointKind.PlainOnly],
            BeforeDataReply = ct =>
            {
                inData.TrySetResult();
                return release.Task.WaitAsync(ct);
            },
        });
        var data = GatewayHost.NewDataDirectory();
        Directory.CreateDirectory(data);
        var settings = GatewayHost.Settings(relay, data, RelayEndpointKind.PlainOnly);
        settings["Logging:LogLevel:MailGateway.Embedded.SqliteDeliveryWorker"] = "Information";
        using var gateway = await GatewayProcess.StartAsync(data, settings);
        using var client = new HttpClient { BaseAddress = gateway.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayHost.AppKey);

        var response = await client.PostAsync("/api/v1/messages", GatewayHost.Json(GatewayHost.Message("in flight")));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await GatewayHost.ReadAsync(response)).GetProperty("id").GetString()!;
        await inData.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var exiting = gateway.TerminateAsync(TimeSpan.FromSeconds(60));
        await WaitUntilAsync(() => gateway.Output.Contains("in-flight", StringComparison.Ordinal) || exiting.IsCompleted);
        Assert.False(exiting.IsCompleted, "the host exited without waiting for the in-flight delivery:\n" + gateway.Output);
        release.SetResult();
        var exitCode = await exiting;

        Assert.True(0 == exitCode, gateway.Output);
        Assert.Single(relay.Messages);
        Assert.Equal("Delivered", await StateAsync(data, id));
    }

    private static async Task<string?> StateAsync(string data, string id)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "gateway.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT state FROM messages WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return (string?)await command.ExecuteScalarAsync();
    }

    private static Task WaitUntilAsync(Func<bool> condition) => Poll.UntilAsync(condition, () => "condition not reached before the deadline");
}
