using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

var app = WebApplication.CreateSlimBuilder(args).Build();
app.MapPost("/api/v1/messages", async (HttpContext context) =>
{
    using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
    context.Response.StatusCode = StatusCodes.Status202Accepted;
    context.Response.Headers.Location = "/api/v1/messages/0";
    context.Response.ContentType = "application/json";
    await context.Response.WriteAsync("{\"id\":\"0\",\"status\":\"queued\"}", context.RequestAborted);
});

// The webhook receiver of bench/webhooks.sh: verifies the Standard Webhooks signature (HMAC-SHA256 of
// "id.timestamp.body" with the secret set by PUT /hook-secret; any of the space-separated v1 signatures), parses the
// JSON, counts distinct webhook-ids and answers 204. The same work whether the gateway or hey sends the request.
var receiver = new Receiver();
app.MapPut("/hook-secret", async (HttpContext context) =>
{
    using var reader = new StreamReader(context.Request.Body);
    var secret = (await reader.ReadToEndAsync(context.RequestAborted)).Trim();
    receiver.Key = Convert.FromBase64String(secret["whsec_".Length..]);
    return Results.NoContent();
});
app.MapPost("/hook", async (HttpContext context) =>
{
    using var buffer = new MemoryStream();
    await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
    var body = buffer.ToArray();
    var id = context.Request.Headers["webhook-id"].ToString();
    var timestamp = context.Request.Headers["webhook-timestamp"].ToString();
    var signed = Encoding.UTF8.GetBytes(id + "." + timestamp + ".").Concat(body).ToArray();
    var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(receiver.Key, signed));
    if (!context.Request.Headers["webhook-signature"].ToString().Split(' ').Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), Encoding.ASCII.GetBytes(expected))))
    {
        Interlocked.Increment(ref receiver.Forged);
        return Results.StatusCode(400);
    }

    using var document = JsonDocument.Parse(body);
    Interlocked.Increment(ref receiver.Requests);
    lock (receiver.Ids)
    {
        receiver.Ids.Add(id);
    }

    return Results.NoContent();
});
app.MapDelete("/hook-count", () =>
{
    lock (receiver.Ids)
    {
        receiver.Ids.Clear();
        Interlocked.Exchange(ref receiver.Requests, 0);
        Interlocked.Exchange(ref receiver.Forged, 0);
    }

    return Results.NoContent();
});
app.MapGet("/hook-count", () => Results.Text($"{receiver.Ids.Count} {receiver.Requests} {receiver.Forged}"));
await app.RunAsync();

internal sealed class Receiver
{
    public byte[] Key = [];
    public long Requests;
    public long Forged;
    public readonly HashSet<string> Ids = [];
}
