using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Azure;
using Azure.Security.KeyVault.Certificates;
using MailGateway.AzureAdapters.Certificates;
using MailGateway.Core.Hosting;
using MailGateway.Core.Inbound;
using MailGateway.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters.Tests.Certificates;

/// <summary>
/// The inbound listener's certificate from Key Vault through the SDK's seam (<see cref="FakeCertificateClient"/>:
/// <see cref="CertificateClient"/>'s virtual download): downloaded by its configured name with its private key (proved by
/// a real TLS handshake on 127.0.0.1), a missing certificate fails the load, the settings are validated at start.
/// </summary>
public sealed class KeyVaultServerCertificateSourceTests
{
    private static readonly Uri Vault = new("https://kv-tls-test.vault.azure.net/");

    private static KeyVaultServerCertificateSource Source(FakeCertificateClient client, string name) =>
        new(client, Options.Create(new KeyVaultCertificateOptions { KeyVaultUri = Vault, KeyVaultCertificateName = name }));

    [Fact]
    public async Task The_certificate_is_downloaded_by_its_name_with_its_private_key_and_serves_TLS()
    {
        var client = new FakeCertificateClient(Vault);
        client.Import("inbound-tls", TestCertificates.Shared.ServerCertificate);

        using var certificate = await Source(client, "inbound-tls").LoadAsync(CancellationToken.None);

        Assert.NotNull(certificate);
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(TestCertificates.Shared.ServerCertificate.Thumbprint, certificate.Thumbprint);
        Assert.Equal("inbound-tls", Assert.Single(client.Downloads).CertificateName);
        Assert.Null(client.Downloads[0].Version);

        // The private key works: a real handshake, the client trusting only the test CA.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(socket.GetStream());
            await tls.AuthenticateAsServerAsync(certificate);
            await tls.WriteAsync("220 ok\r\n"u8.ToArray());
        });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var clientTls = new SslStream(tcp.GetStream(), false, (_, presented, _, _) => TrustsTestAuthority(presented));
        await clientTls.AuthenticateAsClientAsync("localhost");
        var buffer = new byte[8];
        var read = await clientTls.ReadAtLeastAsync(buffer, 8);
        await server;

        Assert.Equal("220 ok\r\n", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
        Assert.Equal(certificate.Thumbprint, clientTls.RemoteCertificate!.GetCertHashString());
    }

    [Fact]
    public async Task A_certificate_missing_from_the_vault_fails_the_load_with_the_service_answer()
    {
        var client = new FakeCertificateClient(Vault);

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => Source(client, "inbound-tls").LoadAsync(CancellationToken.None));

        Assert.Equal(404, error.Status);
        Assert.Equal("CertificateNotFound", error.ErrorCode);
    }

    [Fact]
    public void The_registration_uses_the_vault_uri_with_the_gateway_credential_and_validates_the_settings()
    {
        using var host = Build(new()
        {
            ["MailGateway:Inbound:Tls:KeyVaultUri"] = Vault.ToString(),
            ["MailGateway:Inbound:Tls:KeyVaultCertificateName"] = "inbound-tls",
        });
        Assert.Equal(Vault, host.Services.GetRequiredService<CertificateClient>().VaultUri);
        Assert.IsType<KeyVaultServerCertificateSource>(host.Services.GetRequiredService<IServerCertificateSource>());
        Assert.True(StartupValidation.TryValidate(host.Services, new StringWriter()));

        using var unnamed = Build(new() { ["MailGateway:Inbound:Tls:KeyVaultUri"] = Vault.ToString() });
        var error = new StringWriter();
        Assert.False(StartupValidation.TryValidate(unnamed.Services, error));
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("Invalid configuration in MailGateway:Inbound:Tls: ", line, StringComparison.Ordinal);
        Assert.Contains("MailGateway:Inbound:Tls:KeyVaultCertificateName is required with MailGateway:Inbound:Tls:KeyVaultUri.", line, StringComparison.Ordinal);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddKeyVaultServerCertificate();
        return builder.Build();
    }

    private static bool TrustsTestAuthority(X509Certificate? presented)
    {
        if (presented is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(TestCertificates.Shared.Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        return chain.Build(leaf);
    }
}
