using System.Text.Json;
using System.Text.Json.Serialization;
using MailGateway.Core.Status;

namespace MailGateway.Embedded;

/// <summary>
/// The status record as stored in <c>messages.record</c>: web defaults (camelCase, enums as names), source-generated so
/// the single writer spends no time on reflection (the record is read and written again on every state change).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(MessageRecord))]
[JsonSerializable(typeof(MailGateway.Core.Events.MessageEvent))]
[JsonSerializable(typeof(ListFilterFields))]
internal sealed partial class EmbeddedJsonContext : JsonSerializerContext;
