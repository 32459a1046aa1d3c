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
await app.RunAsync();
