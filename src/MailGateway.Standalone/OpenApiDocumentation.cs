using System.Text.Json.Nodes;
using MailGateway.Api;
using MailGateway.Core.Delivery;
using MailGateway.Core.Events;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.ServiceDefaults.Health;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MailGateway.Standalone;

/// <summary>
/// The served OpenAPI document is the API's contract. The generator contributes what it reads from the endpoints
/// (paths, methods, parameters, status codes); the schemas of requests and answers are written here by hand, because
/// the API writes its answers itself (nulls left out, problem+json) and reads its body itself (string-or-object
/// addresses, date-times that must name their offset). <c>ContractTests</c> in MailGateway.Standalone.Tests validates
/// live answers of every operation against this document.
/// </summary>
internal static class OpenApiDocumentation
{
    /// <summary>The document's title (also the reference page's).</summary>
    public const string Title = "MailGateway API";

    private const string ProblemContentType = ApiResults.ProblemContentType;
    private const string SendMessageRequestId = "SendMessageRequest";
    private const string ProblemId = "ProblemDetails";

    private static readonly string[] TlsProtocols = ["Tls", "Tls11", "Tls12", "Tls13"];

    private static readonly string[] DeadLetterReasonNames =
    [
        DeadLetterReasons.Failed, DeadLetterReasons.Expired, DeadLetterReasons.Unknown, DeadLetterReasons.ContentMissing,
        DeadLetterReasons.MalformedJob, DeadLetterReasons.TooManyDeliveries,
    ];

    /// <summary>Registers the transformers.</summary>
    public static void Configure(OpenApiOptions options)
    {
        options.AddOperationTransformer(DescribeOperationAsync);
        options.AddDocumentTransformer(DescribeDocumentAsync);
    }

    /// <summary>The example request of the reference page: valid against the standalone host's development key (sender domain example.com).</summary>
    public static JsonNode ExampleRequest() => JsonNode.Parse("""
        {
          "from": {"address": "app@example.com", "name": "My App"},
          "to": ["someone@example.net"],
          "subject": "Hello from MailGateway",
          "text": "It works.",
          "html": "<p>It <b>works</b>.</p>",
          "tags": ["welcome"],
          "metadata": {"orderId": "42"}
        }
        """)!;

    private static Task DescribeOperationAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var document = context.Document!;
        var path = "/" + (context.Description.RelativePath ?? "").TrimStart('/');
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        if (metadata.OfType<SendMessageRequestMetadata>().FirstOrDefault() is { } send)
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = "The message. Unknown properties are refused (400 `invalid_json`), so a typo is never silently dropped.",
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    [send.ContentType] = new() { Schema = new OpenApiSchemaReference(SendMessageRequestId, document), Example = ExampleRequest() },
                },
            };
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = "Idempotency-Key",
                In = ParameterLocation.Header,
                Required = false,
                Description = "1-255 printable ASCII characters (else 400 `invalid_idempotency_key`). The same key and body (per API key, for at least 24 hours) return the original 202 with the original id, and the message is delivered once; the same key with another body is 422 `idempotency_key_reused`.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 255, Pattern = "^[\\x20-\\x7E]+$" },
            });
        }

        if (operation.OperationId == "SendMessageBatch")
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = "1-500 messages, each as the body of `POST /api/v1/messages` with its own optional idempotency key. Unknown properties, a JSON syntax or a type error anywhere refuse the whole batch (400 `invalid_json`).",
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchemaReference("SendBatchRequest", document) } },
            };
        }

        if (operation.OperationId is "CreateWebhook" or "UpdateWebhook")
        {
            var create = operation.OperationId == "CreateWebhook";
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = create
                    ? $"The receiver and the event types. At most {WebhooksApi.MaxRequestBodyBytes} bytes; unknown properties are refused (400 `invalid_json`)."
                    : $"The fields to change; each one given replaces the endpoint's. At most {WebhooksApi.MaxRequestBodyBytes} bytes; unknown properties are refused (400 `invalid_json`).",
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = new OpenApiSchemaReference(create ? "CreateWebhookRequest" : "UpdateWebhookRequest", document) },
                },
            };
        }

        // The created endpoint is the one answer with its secret.
        if (operation.OperationId == "CreateWebhook" && operation.Responses?.GetValueOrDefault("201") is OpenApiResponse created)
        {
            created.Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchemaReference("WebhookCreatedResponse", document) } };
        }

        // The event endpoints read their query themselves (as the Functions host does): declared here.
        if (operation.OperationId is "ListEvents" or "ListMessageEvents")
        {
            operation.Parameters ??= [];
            foreach (var name in new[] { "after", "types", "limit" })
            {
                operation.Parameters.Add(new OpenApiParameter { Name = name, In = ParameterLocation.Query, Required = false });
            }
        }

        // So do the suppression endpoints.
        if (operation.OperationId is "ListSuppressions" or "RemoveSuppression")
        {
            operation.Parameters ??= [];
            foreach (var name in operation.OperationId == "ListSuppressions" ? new[] { "address", "apiKey", "cursor", "limit" } : ["apiKey"])
            {
                operation.Parameters.Add(new OpenApiParameter { Name = name, In = ParameterLocation.Query, Required = false });
            }
        }

        if (operation.OperationId == "AddSuppressions")
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = $"1-{SuppressionsApi.MaxAddresses} addresses (at most {SuppressionsApi.MaxBodyBytes} bytes). Unknown properties are refused (400 `invalid_json`).",
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchemaReference("AddSuppressionsRequest", document) } },
            };
        }

        var deadLetterPath = path.StartsWith(MessagesApi.DeadLettersPath, StringComparison.Ordinal);
        var webhookPath = path.StartsWith(WebhooksApi.WebhooksPath, StringComparison.Ordinal);
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            if (parameter is { Name: "address", In: ParameterLocation.Path })
            {
                parameter.Description = "The suppressed address (URL-encoded; compared case-insensitively).";
            }
            else if (parameter is { Name: "id", In: ParameterLocation.Path })
            {
                parameter.Description = deadLetterPath
                    ? "The dead letter's id (`id` of `GET /api/v1/dead-letters`): digits, not the message id."
                    : webhookPath
                        ? "The webhook endpoint's `id`: `wh_…` for one created through the API, the name of a configured one."
                        : "The message id from the 202 answer (its `Location`).";
            }
            else if (parameter.In == ParameterLocation.Query && QueryParameter(operation.OperationId, parameter.Name ?? "") is { } query)
            {
                parameter.Description = query.Description;
                parameter.Schema = query.Schema;
                parameter.Required = false;
            }
        }

        // The standalone host's SQLite queue offers every dead-letter operation: its document has no 501 (the shared
        // endpoint declares it for hosts whose queue does not).
        if (deadLetterPath)
        {
            operation.Responses?.Remove("501");
        }

        // A replay answers with the message's id and `deferred`, not the send's `queued`/`scheduled`.
        if (operation.OperationId == "ReplayDeadLetter" && operation.Responses?.GetValueOrDefault("202") is OpenApiResponse replayed)
        {
            replayed.Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchemaReference("ReplayedMessageResponse", document) } };
        }

        // The rate limiter runs before every /api endpoint.
        if (path.StartsWith("/api/", StringComparison.Ordinal) && operation.Responses is { } apiResponses && !apiResponses.ContainsKey("429"))
        {
            apiResponses["429"] = Json("A rate limit.", ProblemId, document, ProblemContentType);
        }

        if (path == HealthEndpoints.LivenessPath)
        {
            operation.OperationId ??= "GetLiveness";
            operation.Description = "No dependency is checked; no API key is needed.";
            operation.Security = [];
            operation.Responses = new OpenApiResponses { ["200"] = Json("The process runs.", "Liveness", document) };
        }
        else if (path == HealthEndpoints.ReadinessPath)
        {
            operation.OperationId ??= "GetReadiness";
            operation.Description = "Each check calls one dependency's readiness probe (queue, status store, content store; the inbound store when the host runs the capture or the inbound receiver), bounded by `MailGateway:Health:ProbeTimeout`. No API key is needed.";
            operation.Security = [];
            operation.Responses = new OpenApiResponses
            {
                ["200"] = Json("Every check passes.", "Readiness", document),
                ["503"] = Json("A check fails: `errors` lists each failing dependency (`unavailable`), `checks` every one.", "NotReadyProblem", document, ProblemContentType),
            };
        }

        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (response is not OpenApiResponse described)
            {
                continue;
            }

            if (ResponseDescription(operation.OperationId, status) is { } description)
            {
                described.Description = description;
            }

            described.Headers ??= new Dictionary<string, IOpenApiHeader>();
            if (status == "202" && operation.OperationId is "SendMessage" or "ReplayDeadLetter")
            {
                described.Headers["Location"] = Header("The status URL of the message: `/api/v1/messages/{id}`.", Str(null));
            }
            else if (status == "201" && operation.OperationId == "CreateWebhook")
            {
                described.Headers["Location"] = Header("The URL of the endpoint: `/api/v1/webhooks/{id}`.", Str(null));
            }
            else if (status == "401")
            {
                described.Headers["WWW-Authenticate"] = Header("`Bearer realm=\"MailGateway\"`.", Str(null));
            }
            else if (status is "429" || (status == "503" && path != HealthEndpoints.ReadinessPath))
            {
                described.Headers["Retry-After"] = Header("Seconds to wait before trying again.", new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0" });
            }

            if (described.Headers.Count == 0)
            {
                described.Headers = null;
            }
        }

        return Task.CompletedTask;
    }

    private static (string Description, OpenApiSchema Schema)? QueryParameter(string? operationId, string name) => (operationId, name) switch
    {
        ("ListMessages", "status") => ("Only messages in this state.", Str(null, values: Names<MessageState>())),
        ("ListMessages", "tag") => ("Only messages with this tag (exact; 1-256 characters).", new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 256 }),
        ("ListMessages", "recipient") => ("Only messages with this envelope recipient (to, cc or bcc; case-insensitive).", new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 320 }),
        ("ListMessages", "from") => ("Only messages with this envelope sender (case-insensitive).", new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 320 }),
        ("ListMessages", "since") => ("`createdAt` at or after this time: ISO 8601 with `Z` or an offset.", Str(null, "date-time")),
        ("ListMessages", "until") => ("`createdAt` before this time: ISO 8601 with `Z` or an offset; later than `since`.", Str(null, "date-time")),
        ("ListMessages" or "ListDeadLetters", "cursor") => ("The `nextCursor` of the previous page.", Str(null)),
        ("ListMessages" or "ListDeadLetters", "limit") => ("The page size, 1-100 (default 50).", new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = "100" }),
        ("ListEvents" or "ListMessageEvents", "after") => ("The `next` of the previous page: an event id (`evt_` and 16 digits); without it the page starts at the first event.", new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^evt_[0-9]{16}$" }),
        ("ListEvents" or "ListMessageEvents", "types") => ("Only these event types, comma-separated (at most 256 characters).", new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 256, Description = string.Join(", ", MessageEventTypes.All) }),
        ("ListEvents" or "ListMessageEvents", "limit") => ($"The page size, 1-{EventsApi.MaxLimit} (default {EventsApi.DefaultLimit}).", new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = EventsApi.MaxLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
        ("ReplayDeadLetters" or "PurgeDeadLetters", "limit") => ("How many matching dead letters this call handles, 1-1000 (default 100); `more` says whether others match.", new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = "1000" }),
        ("ListDeadLetters" or "ReplayDeadLetters" or "PurgeDeadLetters", "reason") => ("Only dead letters with this reason (case-insensitive).", Str(null, values: DeadLetterReasonNames)),
        ("ListDeadLetters" or "ReplayDeadLetters" or "PurgeDeadLetters", "since") => ("Dead-lettered at or after this time: ISO 8601 with `Z` or an offset.", Str(null, "date-time")),
        ("ListDeadLetters" or "ReplayDeadLetters" or "PurgeDeadLetters", "until") => ("Dead-lettered before this time: ISO 8601 with `Z` or an offset; later than `since`.", Str(null, "date-time")),
        ("ListSuppressions", "address") => ("Only this address (case-insensitive).", new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 254 }),
        ("ListSuppressions" or "RemoveSuppression", "apiKey") => ("The key id whose list to read or change: the caller's own without it; another key's needs `admin`.", new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 128 }),
        ("ListSuppressions", "cursor") => ("The `next` of the previous page.", Str(null)),
        ("ListSuppressions", "limit") => ($"The page size, 1-{SuppressionsApi.MaxLimit} (default {SuppressionsApi.DefaultLimit}).", new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = SuppressionsApi.MaxLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
        _ => null,
    };

    private static string? ResponseDescription(string? operationId, string status) => (operationId, status) switch
    {
        ("SendMessage", "202") => "Accepted: the composed message, its status record and its delivery job are durable. `status` is `queued`, or `scheduled` when `sendAt` is in the future. A replay (same `Idempotency-Key` and body) is this same answer with the original id.",
        ("SendMessage", "400") => "The request is invalid; `errors` lists every problem at once: `invalid_json` (with the JSON path of the problem: not JSON, not an object, an unknown property, a wrong type), `offset_required` (a `sendAt`/`expiresAt` without `Z` or an offset), `invalid_idempotency_key`, `invalid_base64`, `in_the_past`, `before_send_at`, and the message validation codes (`required`, `invalid_address`, `no_recipients`, `body_required`, the limits, …).",
        (_, "401") => "No API key, or an unknown one.",
        ("SendMessage", "403") => "`from` is outside the API key's allowed sender domains (`sender_not_allowed`), or the key lacks the `send` scope (`missing_scope`).",
        ("GetMessage" or "ListMessages" or "ListDeadLetters" or "GetDeadLetter" or "ListEvents" or "ListMessageEvents" or "ListWebhooks", "403") => "The API key lacks the `read` scope (`missing_scope`).",
        ("SendMessageBatch", "403") => "The API key lacks the `send` scope (`missing_scope`); a sender outside the key's domains is a per-item 403 inside the 200.",
        ("CancelMessage" or "ReplayDeadLetter" or "PurgeDeadLetter" or "ReplayDeadLetters" or "PurgeDeadLetters", "403") => "The API key has neither the `send` nor the `admin` scope (`missing_scope`).",
        ("SendMessageBatch", "200") => "One result per item, in order: `status` 202 with `id` and `state`, or the status a single send would have had with the item's `errors` (fields prefixed `messages[i]`), or 503 with `detail`. The accepted items are durable in one commit.",
        ("SendMessageBatch", "400") => "The whole batch is refused: not JSON, an unknown property or a wrong type anywhere (`invalid_json`, `offset_required`), no messages (`required`), more than 500 (`too_many_messages`).",
        ("SendMessageBatch", "413") => "The body is larger than `MaxRequestBodyBytes` (no `errors`).",
        ("SendMessageBatch", "415") => "The body is not `application/json`.",
        ("SendMessageBatch", "503") => "Every item met an unavailable queue or store: nothing was accepted.",
        ("ListMessages", "200") => "One page, newest first; `nextCursor` is left out on the last page.",
        ("ListMessages", "400") => "Every bad query parameter at once: `unknown_parameter`, `repeated_parameter`, `invalid_status`, `invalid_value` (tag), `invalid_address`, `invalid_date_time`, `offset_required`, `before_since`, `invalid_cursor`, `invalid_limit`.",
        ("ListMessages", "503") or ("CancelMessage", "503") => "The status store is unavailable; try again after `Retry-After`.",
        ("CancelMessage", "200") => "Canceled: the status, `canceled`, with `lastReply` naming the key. The message is never sent.",
        ("CancelMessage", "404") => "No message with this id was sent with this API key (and the key has no `admin` scope).",
        ("CancelMessage", "409") => "The message is `sending` or already final (`not_cancelable`, its state in `detail`); nothing changed.",
        ("ListDeadLetters", "200") => "One page of dead letters, newest first (no `message`); `nextCursor` is left out on the last page.",
        ("ListDeadLetters", "400") => "Every bad query parameter at once: `unknown_parameter`, `repeated_parameter`, `invalid_reason`, `invalid_date_time`, `offset_required`, `before_since`, `invalid_cursor`, `invalid_limit`.",
        ("GetDeadLetter", "200") => "The dead letter with `message`, its message's status (left out when the status record is gone).",
        ("GetDeadLetter" or "ReplayDeadLetter" or "PurgeDeadLetter", "404") => "No dead letter with this id for this API key (an unknown id, another key's without `admin`, or one already replayed or purged).",
        ("ReplayDeadLetter", "202") => "The job is on the queue again as the next attempt of the same message (same id, stored MIME and `Message-ID`); `status` is `deferred`.",
        ("ReplayDeadLetter", "409") => "The dead letter is not a readable job, its message's status record is gone, or the message has a job already (`not_replayable`); purge it instead.",
        ("ReplayDeadLetters", "200") => "What the call did to each matching dead letter it looked at (newest first, at most `limit`): `replayed`, `not_replayable` (left as it is) or `gone` (a concurrent replay or purge took it first); `done` counts the replayed ones; `more` is true when others match: call again.",
        ("PurgeDeadLetters", "200") => "What the call did to each matching dead letter it looked at (newest first, at most `limit`): `purged` (with its content) or `gone`; `done` counts the purged ones; `more` is true when others match: call again.",
        ("ReplayDeadLetters" or "PurgeDeadLetters", "400") => "Every bad query parameter at once: `unknown_parameter`, `repeated_parameter`, `invalid_reason`, `invalid_date_time`, `offset_required`, `before_since`, `invalid_limit`.",
        ("PurgeDeadLetter", "204") => "The dead letter and its message's stored content are removed; the status record stays.",
        ("ListDeadLetters" or "GetDeadLetter" or "ReplayDeadLetter" or "PurgeDeadLetter" or "ReplayDeadLetters" or "PurgeDeadLetters", "503") => "The queue or the status store is unavailable; try again after `Retry-After`.",
        ("ListEvents" or "ListMessageEvents", "200") => "The events after `after`, oldest first. `next` is the cursor to continue with (left out when there is none yet); `hasMore` is true when the page is full.",
        ("ListEvents" or "ListMessageEvents", "400") => "Every bad query parameter at once: `unknown_parameter`, `repeated_parameter`, `invalid_cursor` (after), `invalid_limit`, `invalid_type` (types).",
        ("ListMessageEvents", "404") => "No message with this id was sent with this API key.",
        ("ListEvents" or "ListMessageEvents", "503") => "The event log or the status store is unavailable; try again after `Retry-After`.",
        ("ListWebhooks", "200") => "The endpoints this key may see (its own, configured and created; `admin`: every one), with their delivery state; never a secret.",
        ("ListWebhooks" or "GetWebhook" or "CreateWebhook" or "UpdateWebhook" or "DeleteWebhook" or "RotateWebhookSecret", "503") => "The webhook state is unavailable; try again after `Retry-After`.",
        ("GetWebhook", "403") => "The API key lacks the `read` scope (`missing_scope`).",
        ("CreateWebhook" or "UpdateWebhook" or "DeleteWebhook" or "RotateWebhookSecret", "403") => "The API key has neither the `send` nor the `admin` scope (`missing_scope`).",
        ("GetWebhook" or "UpdateWebhook" or "DeleteWebhook" or "RotateWebhookSecret", "404") => "No webhook endpoint with this id belongs to this API key (an unknown id, or another key's without `admin`).",
        ("GetWebhook" or "UpdateWebhook", "200") => "The endpoint and its delivery state: `failures`, `failingSince`, `nextAttemptAt`, `lastStatus`, `lastError`, and `disabledReason` when `enabled` is false. Never the secret.",
        ("CreateWebhook", "201") => "Created; `secret` (`whsec_…`) is in this answer only. It receives the events of this key's messages that happen from now on.",
        ("CreateWebhook", "400") => "Every problem at once: `required` or `invalid_url` (url: https to a public address, at most 2048 characters; http only to loopback with `AllowLoopback`), `invalid_type` (eventTypes[i]), `invalid_json`.",
        ("UpdateWebhook", "400") => "Every problem at once: `invalid_url`, `invalid_type` (eventTypes[i]), `invalid_json`.",
        ("CreateWebhook", "409") => "The key has `MaxEndpointsPerKey` endpoints already (`too_many_webhooks`).",
        ("UpdateWebhook" or "DeleteWebhook" or "RotateWebhookSecret", "409") => "The endpoint is configured at start (`configured_webhook`): read-only through the API.",
        ("CreateWebhook" or "UpdateWebhook", "413") => $"The body is larger than {WebhooksApi.MaxRequestBodyBytes} bytes.",
        ("CreateWebhook" or "UpdateWebhook", "415") => "The body is not `application/json`.",
        ("DeleteWebhook", "204") => "Deleted with its delivery state; nothing more is sent to it.",
        ("RotateWebhookSecret", "200") => "The new secret, shown this once. Until `previousSecretExpiresAt` (`SecretRotationGrace`, 24 h by default) deliveries carry two signatures: `webhook-signature: v1,<new> v1,<old>`.",
        ("ListSuppressions", "200") => "One page of active entries (expired ones are left out), ordered by key and address; `next` is left out on the last page.",
        ("ListSuppressions", "400") => "Every bad query parameter at once: `unknown_parameter`, `repeated_parameter`, `invalid_address`, `invalid_value` (apiKey), `invalid_cursor`, `invalid_limit`.",
        ("ListSuppressions", "403") => "The API key lacks the `read` scope, or names another key's list without `admin` (`missing_scope`).",
        ("AddSuppressions" or "RemoveSuppression", "403") => "The API key has neither the `send` nor the `admin` scope, or names another key's list without `admin` (`missing_scope`).",
        ("AddSuppressions", "200") => "The entries as stored (reason `manual`; an existing entry of the same address is replaced).",
        ("AddSuppressions", "400") => "Every problem at once: `invalid_json`, `offset_required`, `required` (no addresses), `too_many_addresses`, the address codes (`invalid_address`, …; the first 20), `in_the_past` (expiresAt), `value_too_long` (note), `invalid_value` (apiKey).",
        ("AddSuppressions", "413") => "The body is larger than the suppression endpoint's limit (no `errors`).",
        ("AddSuppressions", "415") => "The body is not `application/json`.",
        ("RemoveSuppression", "204") => "Removed: the next message to the address is sent again.",
        ("RemoveSuppression", "400") => "The path is not an email address, or a bad query parameter (`unknown_parameter`, `repeated_parameter`, `invalid_value`).",
        ("RemoveSuppression", "404") => "The key's list has no such address.",
        ("ListSuppressions" or "AddSuppressions" or "RemoveSuppression", "503") => "The suppression list is unavailable; try again after `Retry-After`.",
        (_, "429") => "A rate limit of `MailGateway:RateLimits` was reached: the API key's requests (`PerKeyBurst`, `PerKeyRate` per `PerKeyPeriod`), or requests without a valid API key from this client address (`FailedAuthPerAddress` per `FailedAuthWindow`). Nothing was done; try again after `Retry-After`.",
        ("SendMessage", "413") => "The body is larger than `MaxRequestBodyBytes` (refused from `Content-Length` before reading, or as soon as a chunked body passes the limit; no `errors`), or the composed message is larger than `MaxMessageBytes` (`message_too_large`).",
        ("SendMessage", "415") => "The body is not `application/json`.",
        ("SendMessage", "422") => "The `Idempotency-Key` was first used with a different body (`idempotency_key_reused`).",
        ("SendMessage", "503") => "The queue or a store is unavailable: nothing was accepted and nothing is promised; try again after `Retry-After`.",
        ("GetMessage", "200") => "The latest status, every delivery attempt and each recipient's result.",
        ("GetMessage", "404") => "No message with this id was sent with this API key.",
        ("GetMessage", "503") => "The status store is unavailable; try again after `Retry-After`.",
        _ => null,
    };

    private static Task DescribeDocumentAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = Title,
            Version = "v1",
            Description = """
                Outbound mail over HTTP. `POST /api/v1/messages` stores a message durably and answers `202` with its id;
                the gateway delivers it over SMTP with retries, and `GET /api/v1/messages/{id}` reports every attempt.

                **Authentication**: an API key as `Authorization: Bearer <key>` or `X-Api-Key: <key>`. The standalone host
                without configured keys generates a development key (`data/dev-api-key.txt`, printed at start) that may
                send from `example.com`.

                **Errors** are RFC 9457 `application/problem+json` with `traceId`, and for field problems an `errors`
                array listing every problem at once (`field`, `code`, `message`). Never a stack trace.

                **Nulls**: answers leave out a field that has no value; they never send `null`. In a request, `null` is
                the same as leaving the field out.
                """,
        };

        foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
        {
            tag.Description ??= tag.Name switch
            {
                "Messages" => "Send a message or a batch; read, search and cancel messages.",
                "Dead letters" => "Jobs the worker gave up on: list, read, replay, purge.",
                "Events" => "The event log of this key's messages (also sent as webhooks).",
                "Webhooks" => "Webhook endpoints (per API key, or configured) and their delivery state; secret rotation.",
                "Suppressions" => "Addresses a key does not send to: added by hand, by a 5.1.x refusal at RCPT and by bounces (DSNs, complaints).",
                "Health" => "Liveness and readiness, for probes and load balancers (no API key).",
                _ => null,
            };
        }

        document.Components ??= new OpenApiComponents();
        var schemas = document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();

        // Schemas the generator derived from types not written here (endpoints added later): the API writes no nulls,
        // and reads no numbers from strings, so neither is part of the contract.
        foreach (var schema in schemas.Values.OfType<OpenApiSchema>())
        {
            Normalize(schema);
        }

        foreach (var (id, schema) in Schemas(document))
        {
            schemas[id] = schema;
        }

        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "The API key as `Authorization: Bearer <key>`.",
        };
        document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "The same API key as `X-Api-Key: <key>`.",
        };
        document.Security =
        [
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] },
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("apiKey", document)] = [] },
        ];
        return Task.CompletedTask;
    }

    private static IEnumerable<(string Id, OpenApiSchema Schema)> Schemas(OpenApiDocument document)
    {
        IOpenApiSchema Ref(string id) => new OpenApiSchemaReference(id, document);

        yield return (SendMessageRequestId, Closed(Obj(
            "A message to send. At least one recipient (`to`, `cc` or `bcc`) and a `text` or `html` body are required; every problem is reported at once.",
            ["from"],
            ("from", Ref("Address"), "The sender; its domain must be one the API key may use (else 403)."),
            ("to", Arr(Ref("Address"), "Primary recipients."), null),
            ("cc", Arr(Ref("Address"), "Carbon-copy recipients."), null),
            ("bcc", Arr(Ref("Address"), "Blind recipients: in the envelope only, never in the headers."), null),
            ("replyTo", Arr(Ref("Address"), "Reply-To addresses."), null),
            ("subject", Str("The subject."), null),
            ("text", Str("The text/plain body."), null),
            ("html", Str("The text/html body; reference inline attachments as `cid:<contentId>`."), null),
            ("headers", Arr(Ref("Header"), "Custom headers (X-…, List-Unsubscribe, …); headers the gateway writes itself (From, Date, Content-*, …) are refused (`reserved_header`)."), null),
            ("attachments", Arr(Ref("Attachment"), "Attachments and inline parts."), null),
            ("tags", Arr(Str(null), "Tags for your own bookkeeping: returned by the status API, never sent."), null),
            ("metadata", Map(Str(null), "Key-value metadata for your own bookkeeping: returned by the status API, never sent."), null),
            ("sendAt", Str("Send no earlier than this time: ISO 8601 with `Z` or an offset (without one: `offset_required`). In the future: the answer's status is `scheduled`.", "date-time"), null),
            ("expiresAt", Str("Deliver by this time or give up (status `expired`); after now and after `sendAt`; ISO 8601 with `Z` or an offset.", "date-time"), null))));

        var addressObject = Obj("An address with a display name. (`email` is accepted as another name of `address`.)", ["address"],
            ("address", Str("The email address."), null),
            ("name", Str("The display name."), null));
        Closed(addressObject);
        yield return ("Address", new OpenApiSchema
        {
            Description = "An address: `\"a@example.com\"` or `{\"address\": \"a@example.com\", \"name\": \"A\"}`.",
            OneOf = [Str("The email address."), addressObject],
        });

        yield return ("Header", Closed(Obj("A custom header.", ["name", "value"],
            ("name", Str("The header name: printable ASCII without a colon."), null),
            ("value", Str("The header value: no CR, LF or NUL."), null))));

        var attachment = Obj("An attachment; with `contentId` an inline part (referenced as `cid:<contentId>` from the html).", ["filename", "contentType", "content"],
            ("filename", Str("The file name."), null),
            ("contentType", Str("The media type, e.g. `application/pdf`."), null),
            ("content", Str("The content, base64 (else `invalid_base64`)."), null),
            ("contentId", Str("The content-id of an inline part; unique within the message."), null));
        ((OpenApiSchema)attachment.Properties!["content"]).ContentEncoding = "base64";
        Closed(attachment);
        yield return ("Attachment", attachment);

        yield return ("AcceptedMessageResponse", Obj("The message is stored and queued.", ["id", "status"],
            ("id", Str("The message id (`GET /api/v1/messages/{id}`)."), null),
            ("status", Str("`queued`, or `scheduled` when `sendAt` is in the future.", values: ["queued", "scheduled"]), null)));

        yield return ("ReplayedMessageResponse", Obj("The dead letter's job is on the queue again.", ["id", "status"],
            ("id", Str("The message id (`GET /api/v1/messages/{id}`): the same as before the dead letter."), null),
            ("status", Str("`deferred` until the new attempt.", values: ["deferred"]), null)));

        yield return ("MessageStatusResponse", Obj("The status of a message. Fields without a value are left out.",
            ["id", "status", "createdAt", "updatedAt", "attempts", "recipients", "tags", "metadata"],
            ("id", Str("The message id."), null),
            ("status", Str("`queued` (waiting for its first attempt), `scheduled` (`sendAt` in the future), `sending`, `delivered`, `deferred` (a transient failure; retried at `nextAttemptAt`), `failed` (a permanent reply, or the stored content was lost), `expired` (not delivered within the maximum age or before `expiresAt`), `unknown` (the connection was lost after the final dot: the relay may have the message), `canceled` (canceled through the API before an attempt; never sent), `suppressed` (every recipient is on the key's suppression list; never sent, the relay was not contacted).",
                values: Names<MessageState>()), null),
            ("createdAt", Str("When the message was accepted.", "date-time"), null),
            ("updatedAt", Str("When the status last changed.", "date-time"), null),
            ("sendAt", Str("The requested earliest send time; left out when none was given.", "date-time"), null),
            ("expiresAt", Str("The requested deadline; left out when none was given.", "date-time"), null),
            ("nextAttemptAt", Str("When the next attempt is due; left out when none is planned.", "date-time"), null),
            ("lastReply", Str("The relay's last reply or the reason of the last outcome; left out before the first attempt."), null),
            ("attempts", Arr(Ref("AttemptResponse"), "Every delivery attempt, oldest first."), null),
            ("recipients", Arr(Ref("RecipientResponse"), "Each recipient's latest state."), null),
            ("tags", Arr(Str(null), "The request's tags."), null),
            ("metadata", Map(Str(null), "The request's metadata."), null)));

        yield return ("AttemptResponse", Obj("One delivery attempt.", ["number", "startedAt", "durationMs", "outcome"],
            ("number", Int("The attempt number, from 1.", "int32", "1"), null),
            ("startedAt", Str("When the attempt started.", "date-time"), null),
            ("durationMs", Int("How long it took, in milliseconds.", "int64", "0"), null),
            ("outcome", Str("The attempt's outcome.", values: Names<DeliveryOutcomeKind>()), null),
            ("port", Int("The relay port the attempt used; left out when no connection was made.", "int32", "1"), null),
            ("tls", Str("The negotiated TLS protocol; left out for a connection in clear or none.", values: TlsProtocols), null),
            ("reply", Str("The relay's reply, or why there was none."), null)));

        yield return ("RecipientResponse", Obj("The latest state of one recipient.", ["address", "status"],
            ("address", Str("The recipient address."), null),
            ("status", Str("The recipient's state: `delivered`, `deferred`, `failed`, `unknown`, `suppressed` (on the key's suppression list: not sent), `bounced` (a DSN reported it failed after the relay took the message).", values: Names<RecipientState>()), null),
            ("reply", Str("The relay's reply for this recipient; left out when there was none."), null)));

        yield return ("MessageSummaryResponse", Obj("One message of the list (the full status: `GET /api/v1/messages/{id}`). Fields without a value are left out.",
            ["id", "status", "apiKey", "createdAt", "updatedAt", "recipients", "tags"],
            ("id", Str("The message id."), null),
            ("status", Str("The state, as in the status answer.", values: Names<MessageState>()), null),
            ("apiKey", Str("The id of the API key that sent it."), null),
            ("createdAt", Str("When it was accepted (the list's order, newest first).", "date-time"), null),
            ("updatedAt", Str("When its status last changed.", "date-time"), null),
            ("sendAt", Str("The requested earliest send time; left out when none was given.", "date-time"), null),
            ("nextAttemptAt", Str("When the next attempt is due; left out when none is planned.", "date-time"), null),
            ("from", Str("The envelope sender."), null),
            ("recipients", Arr(Str(null), "The envelope recipients (to, cc and bcc)."), null),
            ("tags", Arr(Str(null), "The request's tags."), null),
            ("lastReply", Str("The last reply or reason; left out before the first attempt."), null)));

        yield return ("MessageListResponse", Obj("One page of messages, newest first.", ["items"],
            ("items", Arr(Ref("MessageSummaryResponse"), "The messages of this page."), null),
            ("nextCursor", Str("Pass as `cursor` for the next page; left out on the last page."), null)));

        var batchItem = Obj("One message of a batch.", ["message"],
            ("idempotencyKey", new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 255, Pattern = "^[\\x20-\\x7E]+$" },
                "This message's idempotency key (as the `Idempotency-Key` header of a single send); else a per-item 400 `invalid_idempotency_key`."),
            ("message", Ref(SendMessageRequestId), null));
        Closed(batchItem);
        yield return ("BatchItem", batchItem);
        var batchRequest = Obj("The body of `POST /api/v1/messages/batch`.", ["messages"],
            ("messages", Arr(Ref("BatchItem"), "1-500 messages (none: `required`, more: `too_many_messages`)."), null));
        ((OpenApiSchema)batchRequest.Properties!["messages"]).MinItems = 1;
        ((OpenApiSchema)batchRequest.Properties!["messages"]).MaxItems = MessagesApi.MaxBatchMessages;
        Closed(batchRequest);
        yield return ("SendBatchRequest", batchRequest);

        yield return ("BatchItemResult", Obj("The result of one batch item. Fields without a value are left out.", ["index", "status"],
            ("index", Int("The item's position in `messages`, from 0.", "int32", "0"), null),
            ("status", new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Enum = [.. new[] { 202, 400, 403, 413, 422, 503 }.Select(v => (JsonNode)JsonValue.Create(v))] },
                "The status a single send would have had."),
            ("id", Str("For 202: the message id."), null),
            ("state", Str("For 202: `queued`, or `scheduled` when `sendAt` is in the future.", values: ["queued", "scheduled"]), null),
            ("errors", Arr(Ref("FieldError"), "For 400, 403, 413 and 422: the item's field errors (fields prefixed `messages[i]`)."), null),
            ("detail", Str("For 503: what failed."), null)));

        yield return ("SendBatchResponse", Obj("One result per item, in order.", ["accepted", "refused", "results"],
            ("accepted", Int("How many items were accepted (202).", "int32", "0"), null),
            ("refused", Int("How many were not.", "int32", "0"), null),
            ("results", Arr(Ref("BatchItemResult"), "One result per item, in order."), null)));

        yield return ("DeadLetterResponse", Obj("A dead letter: a job the worker gave up on.",
            ["id", "messageId", "apiKey", "reason", "description", "attempt", "deliveryCount", "deadLetteredAt", "recipients"],
            ("id", Str("The dead letter's id (digits; for replay and delete)."), null),
            ("messageId", Str("The message."), null),
            ("apiKey", Str("The id of the API key that sent the message."), null),
            ("reason", Str("Why the job was given up.", values: DeadLetterReasonNames), null),
            ("description", Str("The last reply or the reason in words."), null),
            ("attempt", Int("The attempt number of the dead job.", "int32", "0"), null),
            ("deliveryCount", Int("How often the queue handed the job out.", "int32", "0"), null),
            ("deadLetteredAt", Str("When it was dead-lettered.", "date-time"), null),
            ("recipients", Arr(Str(null), "The recipients of the dead job."), null),
            ("message", Ref("MessageStatusResponse"), null)));

        yield return ("DeadLetterListResponse", Obj("One page of dead letters, newest first (without `message`).", ["items"],
            ("items", Arr(Ref("DeadLetterResponse"), "The dead letters of this page."), null),
            ("nextCursor", Str("Pass as `cursor` for the next page; left out on the last page."), null)));

        yield return ("DeadLetterBulkItem", Obj("What a bulk replay or purge did to one dead letter.", ["id", "messageId", "outcome"],
            ("id", Str("The dead letter's id."), null),
            ("messageId", Str("Its message."), null),
            ("outcome", Str("What happened to it.", values: ["replayed", "purged", "not_replayable", "gone"]), null)));

        yield return ("DeadLetterBulkResponse", Obj("The answer of a bulk replay or purge.", ["done", "items", "more"],
            ("done", Int("How many were replayed (or purged) by this call.", "int32", "0"), null),
            ("items", Arr(Ref("DeadLetterBulkItem"), "Every dead letter the call looked at, newest first."), null),
            ("more", new OpenApiSchema { Type = JsonSchemaType.Boolean, Description = "True when other dead letters match: call again." }, null)));

        yield return ("MessageEventResponse", Obj("An event (the feed's and the webhooks' wire format). Fields without a value are left out.",
            ["id", "type", "time", "messageId", "tags", "metadata"],
            ("id", Str("The event id (`evt_` and 16 digits): the feed's cursor and the webhook's `webhook-id`."), null),
            ("type", Str("The event type.", values: MessageEventTypes.All), null),
            ("time", Str("When the change happened.", "date-time"), null),
            ("messageId", Str("The message."), null),
            ("recipient", Str("The recipient, for a recipient's event."), null),
            ("attempt", Int("The attempt number, when an attempt caused it.", "int32", "0"), null),
            ("port", Int("The relay port of that attempt.", "int32", "1"), null),
            ("reply", Str("The SMTP reply or reason."), null),
            ("tags", Arr(Str(null), "The message's tags."), null),
            ("metadata", Map(Str(null), "The message's metadata."), null)));

        yield return ("EventPageResponse", Obj("A page of events, oldest first.", ["events", "hasMore"],
            ("events", Arr(Ref("MessageEventResponse"), "The events after the cursor."), null),
            ("next", Str("Pass as `after` to continue: the last event's id, or the request's `after` when the page is empty; left out when there is neither."), null),
            ("hasMore", new OpenApiSchema { Type = JsonSchemaType.Boolean }, "True when the page is full: ask again with `next` at once.")));

        yield return ("WebhookResponse", Webhook(false));
        yield return ("WebhookCreatedResponse", Webhook(true));

        var createWebhook = Obj("A webhook endpoint to create. It receives the events of this API key's messages only.", ["url"],
            ("url", new OpenApiSchema { Type = JsonSchemaType.String, Format = "uri", MaxLength = 2048 }, "The receiver: `https` to a public address (`http` only to loopback with `AllowLoopback`, development); no user info or fragment (else `invalid_url`)."),
            ("eventTypes", Arr(Str(null, values: MessageEventTypes.All), $"The event types to send, at most {WebhooksApi.MaxEventTypes} entries; none or empty: all (an unknown type or a longer list: `invalid_type`)."), null),
            ("enabled", new OpenApiSchema { Type = JsonSchemaType.Boolean }, "False creates it disabled; default true."));
        Closed(createWebhook);
        yield return ("CreateWebhookRequest", createWebhook);
        var updateWebhook = Obj("The fields to change (each optional).", [],
            ("url", new OpenApiSchema { Type = JsonSchemaType.String, Format = "uri", MaxLength = 2048 }, "A new receiver (rules as at create)."),
            ("eventTypes", Arr(Str(null, values: MessageEventTypes.All), "New event types; empty: all."), null),
            ("enabled", new OpenApiSchema { Type = JsonSchemaType.Boolean }, "False disables it (nothing is sent, the cursor stays); true enables it and clears its failures, also after the retry schedule ran out, so it resumes at its cursor."));
        Closed(updateWebhook);
        yield return ("UpdateWebhookRequest", updateWebhook);
        yield return ("WebhookSecretResponse", Obj("A rotated secret.", ["id", "secret"],
            ("id", Str("The endpoint."), null),
            ("secret", Str("The new secret (`whsec_` and base64), shown this once."), null),
            ("previousSecretExpiresAt", Str("Until then deliveries are signed with the previous secret too; left out when `SecretRotationGrace` is 0.", "date-time"), null)));

        yield return ("WebhookListResponse", Obj("The webhook endpoints this key may see.", ["webhooks"],
            ("webhooks", Arr(Ref("WebhookResponse"), "The endpoints."), null)));

        yield return ("AddSuppressionsRequest", Closed(Obj("Addresses to add to a suppression list (reason `manual`).", ["addresses"],
            ("addresses", new OpenApiSchema { Type = JsonSchemaType.Array, Items = Str(null), MinItems = 1, MaxItems = SuppressionsApi.MaxAddresses }, $"1-{SuppressionsApi.MaxAddresses} email addresses."),
            ("expiresAt", Str("When the entries stop applying: in the future, ISO 8601 with `Z` or an offset; left out for never.", "date-time"), null),
            ("note", new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 512 }, "A note kept as the entries' `detail`."),
            ("apiKey", new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 128 }, "The key id whose list to add to: the caller's own without it; another key's needs `admin`."))));

        yield return ("SuppressionResponse", Obj("One suppression entry. Fields without a value are left out.", ["address", "apiKey", "reason", "createdAt"],
            ("address", Str("The address, lower case."), null),
            ("apiKey", Str("The key whose messages are not sent to it."), null),
            ("reason", Str("`manual` (the API), `hard_bounce` (5.1.x at RCPT), `bounce` (a DSN to the bounce domain), `complaint` (an ARF report).", values: MailGateway.Core.Suppressions.SuppressionReasons.All), null),
            ("createdAt", Str("When it was added.", "date-time"), null),
            ("expiresAt", Str("When it stops applying; left out for never.", "date-time"), null),
            ("detail", Str("The reply, report or note that caused it."), null),
            ("messageId", Str("The message whose bounce caused it."), null)));

        yield return ("SuppressionListResponse", Obj("Suppression entries, ordered by key and address.", ["suppressions"],
            ("suppressions", Arr(Ref("SuppressionResponse"), "The entries."), null),
            ("next", Str("Pass as `cursor` for the next page; left out on the last page."), null)));

        yield return (ProblemId, Problem("An RFC 9457 problem. Field problems list every field error in `errors`.", Ref("FieldError")));
        yield return ("FieldError", Obj("One problem with one field, header or dependency.", ["field", "code", "message"],
            ("field", Str("The JSON path of the field (`to[0].address`, `attachments[1].content`; empty for the whole body), a header name (`Idempotency-Key`) or a dependency (`queue`)."), null),
            ("code", Str("The stable code to branch on.", values: ApiErrorCodes.All), null),
            ("message", Str("What is wrong, for a person."), null)));

        yield return ("Liveness", Obj("The process runs.", ["status"], ("status", Str(null, values: ["alive"]), null)));
        yield return ("Readiness", Obj("Every dependency answers.", ["status", "checks"],
            ("status", Str(null, values: ["ready"]), null),
            ("checks", Map(new OpenApiSchema { Type = JsonSchemaType.Boolean }, "Each check's result by name (`queue`, `statusStore`, `contentStore`, `inboundStore`)."), null)));
        var notReady = Problem("Not ready: `errors` lists each failing dependency (`field` the check's name, `code` `unavailable`).", Ref("FieldError"));
        notReady.Required!.Add("errors");
        notReady.Required.Add("checks");
        notReady.Properties!["checks"] = Map(new OpenApiSchema { Type = JsonSchemaType.Boolean }, "Each check's result by name.");
        yield return ("NotReadyProblem", notReady);
    }

    private static OpenApiSchema Webhook(bool created)
    {
        var schema = Obj(created
                ? "The created endpoint with its secret (shown this once). Fields without a value are left out."
                : "A webhook endpoint and its delivery state (never its secret). Fields without a value are left out.",
            created ? ["id", "name", "source", "url", "eventTypes", "enabled", "failures", "secret"] : ["id", "name", "source", "url", "eventTypes", "enabled", "failures"],
            ("id", Str("`wh_…` for an endpoint created through the API; the name of a configured one."), null),
            ("name", Str("The key of its delivery state (the id, or the configured name)."), null),
            ("source", Str("`api` (created through the API) or `configuration` (read-only through the API).", values: ["api", "configuration"]), null),
            ("apiKey", Str("The API key whose messages' events it receives; left out for a configured endpoint of every key."), null),
            ("url", Str("The receiver."), null),
            ("eventTypes", Arr(Str(null, values: MessageEventTypes.All), "The event types sent (empty: all)."), null),
            ("enabled", new OpenApiSchema { Type = JsonSchemaType.Boolean }, "False while disabled through the API or once the retry schedule ran out (`disabledReason`)."),
            ("disabledReason", Str("Why nothing is sent; only when `enabled` is false."), null),
            ("cursor", Str("The id of the last event it acknowledged; left out before the first."), null),
            ("failures", Int("Failed attempts of the next event, in a row.", "int32", "0"), null),
            ("failingSince", Str("When the first of those failed.", "date-time"), null),
            ("nextAttemptAt", Str("When the next attempt is due (retry schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h).", "date-time"), null),
            ("lastStatus", Int("The last status code the receiver answered.", "int32", "0"), null),
            ("lastError", Str("The last failure."), null),
            ("createdAt", Str("When it was created through the API.", "date-time"), null),
            ("previousSecretExpiresAt", Str("After a rotation: until then deliveries carry the previous secret's signature too.", "date-time"), null));
        if (created)
        {
            schema.Properties!["secret"] = Str("The signing secret (`whsec_` and base64): shown in this answer only.");
        }

        return schema;
    }

    private static OpenApiSchema Problem(string description, IOpenApiSchema fieldError) => Obj(description,
        ["type", "title", "status", "detail", "instance", "traceId"],
        ("type", Str("A URI naming the problem type (the status code's section of RFC 9110).", "uri"), null),
        ("title", Str("A short summary, e.g. `Invalid request`."), null),
        ("status", Int("The HTTP status code.", "int32", "400"), null),
        ("detail", Str("What went wrong, for a person."), null),
        ("instance", Str("The request path."), null),
        ("traceId", Str("The request's trace id: quote it to an operator."), null),
        ("code", Str("A stable code for the problem as a whole, where one applies; field problems carry theirs in `errors`."), null),
        ("errors", Arr(fieldError, "Every field error, at once; left out when the problem is not about fields."), null));

    /// <summary>Unknown properties are refused: the API reads its JSON with unmapped members disallowed.</summary>
    private static OpenApiSchema Closed(OpenApiSchema schema)
    {
        schema.AdditionalPropertiesAllowed = false;
        return schema;
    }

    private static OpenApiResponse Json(string description, string schemaId, OpenApiDocument document, string contentType = "application/json") => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { [contentType] = new() { Schema = new OpenApiSchemaReference(schemaId, document) } },
    };

    private static OpenApiHeader Header(string description, IOpenApiSchema schema) => new() { Description = description, Required = true, Schema = schema };

    private static List<string> Names<TEnum>() where TEnum : struct, Enum => [.. Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant())];

    private static OpenApiSchema Str(string? description, string? format = null, IEnumerable<string>? values = null) => new()
    {
        Type = JsonSchemaType.String,
        Description = description,
        Format = format,
        Enum = values is null ? null : [.. values.Select(v => (JsonNode)JsonValue.Create(v))],
    };

    private static OpenApiSchema Int(string description, string format, string minimum) =>
        new() { Type = JsonSchemaType.Integer, Format = format, Minimum = minimum, Description = description };

    private static OpenApiSchema Arr(IOpenApiSchema items, string? description) => new() { Type = JsonSchemaType.Array, Items = items, Description = description };

    private static OpenApiSchema Map(IOpenApiSchema values, string description) =>
        new() { Type = JsonSchemaType.Object, AdditionalProperties = values, Description = description };

    private static OpenApiSchema Obj(string description, string[] required, params (string Name, IOpenApiSchema Schema, string? Description)[] properties)
    {
        var schema = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = description,
            Required = new HashSet<string>(required, StringComparer.Ordinal),
            Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal),
        };
        foreach (var (name, property, propertyDescription) in properties)
        {
            if (propertyDescription is not null && property is OpenApiSchema inline)
            {
                inline.Description = propertyDescription;
            }

            schema.Properties[name] = property;
        }

        return schema;
    }

    /// <summary>Makes a generated schema say what the API writes: no <c>null</c> (such a property is optional), integers as numbers.</summary>
    internal static void Normalize(OpenApiSchema schema)
    {
        if (schema.Type is { } type && type.HasFlag(JsonSchemaType.Integer) && type.HasFlag(JsonSchemaType.String))
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (schema.Type is { } nullable && nullable.HasFlag(JsonSchemaType.Null) && nullable != JsonSchemaType.Null)
        {
            schema.Type = nullable & ~JsonSchemaType.Null;
        }

        foreach (var (name, property) in schema.Properties?.ToList() ?? [])
        {
            if (property is OpenApiSchema inline)
            {
                if (inline.Type is { } t && t.HasFlag(JsonSchemaType.Null)
                    || inline.OneOf?.Any(s => s.Type == JsonSchemaType.Null) == true)
                {
                    schema.Required?.Remove(name);
                    if (inline.OneOf is { } oneOf && oneOf.Count == 2 && oneOf.Any(s => s.Type == JsonSchemaType.Null))
                    {
                        schema.Properties![name] = oneOf.First(s => s.Type != JsonSchemaType.Null);
                        continue;
                    }
                }

                Normalize(inline);
            }
        }

        if (schema.Items is OpenApiSchema items)
        {
            Normalize(items);
        }

        if (schema.AdditionalProperties is OpenApiSchema values)
        {
            Normalize(values);
        }
    }
}
