using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace MailGateway.Api;

/// <summary>The request pipeline every ASP.NET Core host of the API puts in front of its endpoints.</summary>
public static class ApiApplicationBuilderExtensions
{
    /// <summary>
    /// <c>X-Content-Type-Options: nosniff</c> on every answer; an unexpected exception is a 500 problem, never a stack
    /// trace (a malformed body the server refuses while reading it: its 4xx); an error without a body (routing's 404 and
    /// 405, a bare 400) becomes a problem; the rate limits of <see cref="ApiRateLimiter"/> on every <c>/api</c> path.
    /// </summary>
    public static IApplicationBuilder UseMailGatewayApiDefaults(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use(static (context, next) =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return next(context);
        });
        app.UseExceptionHandler(error => error.Run(static context =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return context.Features.Get<IExceptionHandlerFeature>()?.Error is BadHttpRequestException bad
                ? ApiResults.Problem(bad.StatusCode, ReasonPhrases.GetReasonPhrase(bad.StatusCode), "The server could not read the request: it is malformed.").ExecuteAsync(context)
                : ApiResults.Problem(StatusCodes.Status500InternalServerError, "Internal error", "The gateway could not process the request.").ExecuteAsync(context);
        }));
        app.UseStatusCodePages(static pages => EmptyErrorAsProblem(pages.HttpContext));
        app.UseRateLimiter();
        return app;
    }

    private static Task EmptyErrorAsProblem(HttpContext context)
    {
        var status = context.Response.StatusCode;
        var detail = status switch
        {
            StatusCodes.Status404NotFound => "There is nothing at this path.",
            StatusCodes.Status405MethodNotAllowed => $"This path does not answer {context.Request.Method}" +
                (context.Response.Headers.Allow.ToString() is { Length: > 0 } allow ? $" (Allow: {allow})." : "."),
            StatusCodes.Status400BadRequest => "The request is malformed.",
            _ => ReasonPhrases.GetReasonPhrase(status) + ".",
        };
        return ApiResults.Problem(status, ReasonPhrases.GetReasonPhrase(status), detail).ExecuteAsync(context);
    }
}
