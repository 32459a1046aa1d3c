using System.Text;
using MailGateway.Core.Bounces;
using Microsoft.Extensions.Options;

namespace MailGateway.Fuzz;

/// <summary>
/// Bounce processing: the DSN/ARF reader and the VERP token codec. The first byte chooses: even — the rest is a message
/// for <see cref="BounceReport.Read"/>; odd — the rest is an address for <see cref="BounceAddresses.TryRead"/> (a
/// fuzzed token), and its first 18 bytes also make a message id and index whose token must round-trip.
/// </summary>
internal static class BounceTarget
{
    private const string Domain = "bounce.example.com";
    private static readonly BounceAddresses Signed = Codec(new string('s', 32));
    private static readonly BounceAddresses OtherSecret = Codec(new string('t', 32));

    public static void Run(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        if ((input[0] & 1) == 0)
        {
            Report(input.AsMemory(1));
        }
        else
        {
            Token(input.AsSpan(1));
        }
    }

    private static BounceAddresses Codec(string secret) =>
        new(Options.Create(new BounceOptions { Domain = Domain, Secret = secret }));

    private static void Report(ReadOnlyMemory<byte> message)
    {
        using var stream = new MemoryStream(message.ToArray(), writable: false);
        var report = BounceReport.Read(stream, CancellationToken.None);
        if (!Enum.IsDefined(report.Kind))
        {
            throw new ContractViolation($"report kind {report.Kind}");
        }

        foreach (var value in new[] { report.Status, report.Diagnostic, report.FinalRecipient })
        {
            if (value is not null && (value.Length > 512 || value.AsSpan().IndexOfAny('\r', '\n') >= 0))
            {
                throw new ContractViolation($"a report value of {value.Length} chars or with a line break");
            }
        }

        if (report.Kind == BounceReportKind.Failed && report.Status is not ['5', ..])
        {
            throw new ContractViolation($"a failure with status {report.Status}");
        }

        if (report.Kind == BounceReportKind.None && (report.Status ?? report.Diagnostic ?? report.FinalRecipient) is not null)
        {
            throw new ContractViolation("'not a report' with values");
        }
    }

    private static void Token(ReadOnlySpan<byte> bytes)
    {
        var address = Encoding.UTF8.GetString(bytes);
        var kind = Signed.TryRead(address, out var messageId, out var index);
        if (kind == BounceAddressKind.Valid)
        {
            // Valid only for what the secret signed: the same address (up to case) comes out of For.
            var made = Signed.For(messageId, index);
            if (made is null || !string.Equals(made, address.TrimEnd('.'), StringComparison.OrdinalIgnoreCase))
            {
                throw new ContractViolation($"'{address}' verified as {messageId}/{index}, which signs as '{made}'");
            }

            if (OtherSecret.TryRead(address, out _, out _) == BounceAddressKind.Valid)
            {
                throw new ContractViolation($"'{address}' verifies under another secret");
            }
        }
        else if (messageId.Length != 0 || index != -1)
        {
            throw new ContractViolation($"a {kind} address returned {messageId}/{index}");
        }

        if (kind == BounceAddressKind.Other && Signed.IsBounceDomain(address))
        {
            throw new ContractViolation($"'{address}' is of the bounce domain but read as Other");
        }

        // A token made from the input: verifies under its secret only, and a changed character breaks it.
        if (bytes.Length >= 18)
        {
            var id = new Guid(bytes[..16], bigEndian: true).ToString("N");
            var i = (bytes[16] << 8) | bytes[17];
            var made = Signed.For(id, i) ?? throw new ContractViolation("no token for a gateway id");
            if (Signed.TryRead(made, out var readId, out var readIndex) != BounceAddressKind.Valid || readId != id || readIndex != i)
            {
                throw new ContractViolation($"'{made}' does not read back as {id}/{i}");
            }

            if (Signed.TryRead(made.ToUpperInvariant(), out _, out _) != BounceAddressKind.Valid)
            {
                throw new ContractViolation($"'{made}' in upper case does not verify");
            }

            if (OtherSecret.TryRead(made, out _, out _) != BounceAddressKind.Forged)
            {
                throw new ContractViolation($"'{made}' is not forged under another secret");
            }

            var at = made.IndexOf('+', StringComparison.Ordinal) + 1 + (bytes.Length > 18 ? bytes[18] % 45 : 0);
            var flipped = made[..at] + (made[at] == 'a' ? 'b' : 'a') + made[(at + 1)..];
            if (Signed.TryRead(flipped, out _, out _) == BounceAddressKind.Valid)
            {
                throw new ContractViolation($"'{flipped}' (one character of '{made}' changed) verifies");
            }
        }
    }
}
