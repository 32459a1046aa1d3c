using MailGateway.Core.Keys;
using MailGateway.Core.Submissions;

namespace MailGateway.Listener.Submission;

/// <summary>
/// What the submission role of the listener needs from Core: the MIME accept entry (the same accept port as the HTTP
/// API), the API keys (user name = key id, password = key) and the rate limits the HTTP API applies.
/// </summary>
/// <param name="Submission">The accept entry for an already-formed MIME message.</param>
/// <param name="Keys">The API key verifier.</param>
/// <param name="Limits">The per-key and failed-authentication limits, shared with the HTTP API of the same process.</param>
public sealed record SubmissionServices(MimeMessageSubmission Submission, ApiKeyVerifier Keys, KeyRateLimiter Limits);
