using MailGateway.Core.Inbound;
using MailGateway.Listener;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MailGateway.Bench;

/// <summary>The inbound listener library hosted like <c>MailGateway.Inbound</c>, with the prototype group-commit store.</summary>
internal static class InboundHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        var path = builder.Configuration["MailGateway:Inbound:FileSystem:Path"] ?? "data";
        builder.Services.AddSingleton<IInboundMessageStore>(new GroupCommitStore(path));
        builder.AddInboundListener(2525);
        await builder.Build().RunAsync();
        return 0;
    }
}
