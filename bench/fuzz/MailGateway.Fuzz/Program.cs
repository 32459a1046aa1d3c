using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MailGateway.Api;
using MailGateway.Core.Messages;
using MailGateway.Core.Queue;
using MailGateway.Listener.Smtp;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SharpFuzz;

namespace MailGateway.Fuzz;

/// <summary>
/// The fuzz targets. <c>MailGateway.Fuzz TARGET</c> runs one under afl-fuzz (SharpFuzz's out-of-process loop);
/// <c>MailGateway.Fuzz TARGET --replay FILE…</c> runs it once per file (a crash is an exception, exit code 1);
/// <c>MailGateway.Fuzz TARGET --linear FILE…</c> times each file repeated 2^k times and fails when the time grows
/// faster than linearly. Each target asserts its contract (a <see cref="ContractViolation"/> is a crash to afl).
/// </summary>
public static class Program
{
    private static readonly Dictionary<string, Action<byte[]>> Targets = new(StringComparer.Ordinal)
    {
        ["send"] = SendTarget.Run,
        ["address"] = AddressTarget,
        ["envelope"] = EnvelopeTarget,
        ["data"] = DataTarget,
        ["job"] = JobTarget,
        ["dsn"] = BounceTarget.Run,
        ["submission"] = SubmissionTarget.Run,
        ["webhook-url"] = WebhookUrlTarget.Run,
    };

    public static int Main(string[] args)
    {
        if (args.Length == 0 || !Targets.TryGetValue(args[0], out var target))
        {
            Console.Error.WriteLine($"usage: MailGateway.Fuzz {{{string.Join('|', Targets.Keys)}}} [--replay FILE… | --linear FILE…]");
            return 2;
        }

        if (args.Length > 1 && args[1] == "--replay")
        {
            foreach (var file in args.Skip(2))
            {
                target(File.ReadAllBytes(file));
            }

            return 0;
        }

        if (args.Length > 1 && args[1] == "--linear")
        {
            return args.Skip(2).All(file => Linear(args[0], target, File.ReadAllBytes(file))) ? 0 : 1;
        }

        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            target(buffer.ToArray());
        });
        return 0;
    }

    // Time per byte of the input repeated 64 and 512 times: more than 3x per byte on the larger one is super-linear.
    private static bool Linear(string name, Action<byte[]> target, byte[] seed)
    {
        if (seed.Length == 0)
        {
            return true;
        }

        double PerByte(int repeat)
        {
            var input = Enumerable.Repeat(seed, repeat).SelectMany(b => b).ToArray();
            target(input);
            var best = double.MaxValue;
            for (var run = 0; run < 3; run++)
            {
                var watch = Stopwatch.StartNew();
                target(input);
                best = Math.Min(best, watch.Elapsed.TotalMilliseconds / input.Length);
            }

            return best;
        }

        var small = PerByte(64);
        var large = PerByte(512);
        var ratio = large / Math.Max(small, 1e-9);
        var linear = ratio < 3 || large * seed.Length * 512 < 5;
        Console.WriteLine($"{name}: {seed.Length} B x64 {small * 1e6:F1} ns/B, x512 {large * 1e6:F1} ns/B, ratio {ratio:F2}{(linear ? "" : "  SUPER-LINEAR")}");
        return linear;
    }

    private static void AddressTarget(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var code = AddressSyntax.Check(text);
        if (code is null && (text.Contains('\r', StringComparison.Ordinal) || text.Contains('\n', StringComparison.Ordinal) || !text.Contains('@', StringComparison.Ordinal)))
        {
            throw new ContractViolation($"address accepted with CR/LF or without @: {text}");
        }
    }

    private static void EnvelopeTarget(byte[] input)
    {
        // The first byte chooses the verb and whether SMTPUTF8 is allowed; the rest is the line without its CRLF.
        var line = input.AsSpan(input.Length > 0 ? 1 : 0);
        var flags = input.Length > 0 ? input[0] : 0;
        _ = CommandLineCheck.Check(line, isPath: (flags & 1) == 1);
        _ = EnvelopeCommand.VerbOf(line);
        var parse = EnvelopeCommand.Parse((flags & 2) == 0 ? EnvelopeVerb.Mail : EnvelopeVerb.Rcpt, line, utf8Allowed: (flags & 4) != 0);
        if (parse.Refusal is null)
        {
            if (parse.Path is null || parse.LibraryLine is null)
            {
                throw new ContractViolation("an accepted envelope line without a path or a library line");
            }

            var rewritten = parse.LibraryLine.AsSpan(0, parse.LibraryLine.Length - 2);
            if (rewritten.IndexOfAny((byte)'\r', (byte)'\n') >= 0 || rewritten.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0)
            {
                throw new ContractViolation("the line handed to the library has CR, LF or 8-bit bytes");
            }

            if (parse.Path.UnquotedLocalPart.Any(char.IsControl) || parse.Path.Domain.Any(char.IsControl))
            {
                throw new ContractViolation("an accepted path with control characters");
            }
        }
    }

    private static void DataTarget(byte[] input)
    {
        // The first byte is the chunk size the bytes arrive in; the DATA stream is terminated so every input ends.
        var chunk = input.Length > 0 ? Math.Max(1, (int)input[0]) : 1;
        var data = input.Length > 0 ? input[1..] : input;
        var stream = new byte[data.Length + 5];
        data.CopyTo(stream, 0);
        "\r\n.\r\n"u8.CopyTo(stream.AsSpan(data.Length));
        var parser = new DataParser();
        var output = new Collect();
        var position = 0;
        var done = false;
        while (!done && position < stream.Length)
        {
            done = parser.Parse(stream.AsSpan(position, Math.Min(chunk, stream.Length - position)), output, out var consumed);
            position += consumed;
        }

        if (!done)
        {
            throw new ContractViolation("CRLF.CRLF did not end the data");
        }

        if (!parser.BareLineEnding)
        {
            var bytes = output.Bytes;
            for (var i = 0; i < bytes.Count; i++)
            {
                if ((bytes[i] == '\r' && (i + 1 == bytes.Count || bytes[i + 1] != '\n')) || (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')))
                {
                    throw new ContractViolation($"a bare CR or LF at {i} of a message the reader would store");
                }
            }
        }
    }

    private static void JobTarget(byte[] input)
    {
        DeliveryJob job;
        try
        {
            job = DeliveryJobSerializer.Deserialize(input);
        }
        catch (MalformedDeliveryJobException)
        {
            return;
        }

        // A job read is complete, and writes back to a body that reads as the same job.
        var again = DeliveryJobSerializer.Deserialize(DeliveryJobSerializer.SerializeToUtf8Bytes(job));
        if (again.MessageId != job.MessageId || again.ContentReference != job.ContentReference || !again.Recipients.SequenceEqual(job.Recipients)
            || again.Attempt != job.Attempt || again.FirstSeen != job.FirstSeen || again.ExpiresAt != job.ExpiresAt || again.MailFrom != job.MailFrom)
        {
            throw new ContractViolation("a job does not survive write and read");
        }
    }

    private sealed class Collect : IMessageOutput
    {
        public List<byte> Bytes { get; } = [];

        public void Append(ReadOnlySpan<byte> data)
        {
            foreach (var b in data)
            {
                Bytes.Add(b);
            }
        }
    }
}

/// <summary>JSON send request → mapping → validation → composition, as the API runs them.</summary>
internal static class SendTarget
{
    private static readonly IOptions<MessageLimitsOptions> Limits = Microsoft.Extensions.Options.Options.Create(new MessageLimitsOptions());
    private static readonly MessageValidator Validator = new(Limits);
    private static readonly MessageComposer Composer = new(Limits, new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)));

    private static readonly HashSet<string> GatewayHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-Id", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    };

    public static void Run(byte[] input)
    {
        SendMessageRequest? dto;
        try
        {
            dto = JsonSerializer.Deserialize(input, ApiJsonContext.Default.SendMessageRequest);
        }
        catch (JsonException)
        {
            return;
        }

        if (dto is null)
        {
            return;
        }

        var (message, mappingErrors) = RequestMapper.ToMessage(dto, new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        if (message is null)
        {
            if (mappingErrors.Count == 0)
            {
                throw new ContractViolation("refused without a field error");
            }

            return;
        }

        if (Validator.Validate(message).Count > 0 || mappingErrors.Count > 0)
        {
            return;
        }

        ComposedMessage composed;
        try
        {
            composed = Composer.Compose(message, "fuzz");
        }
        catch (MessageCompositionException ex) when (ex.Error.Code.Length > 0)
        {
            return;
        }

        var bytes = composed.Bytes;
        var scan = WireScan.Of(bytes);
        if (!scan.IsValidSmtpData)
        {
            throw new ContractViolation($"composed MIME with a bare line break or a line of {scan.LongestLine} octets");
        }

        var asked = new HashSet<string>(message.Headers.Select(h => h.Name), StringComparer.OrdinalIgnoreCase);
        foreach (var header in composed.Message.Headers)
        {
            if (!GatewayHeaders.Contains(header.Field) && !asked.Contains(header.Field))
            {
                throw new ContractViolation($"header {header.Field} was not asked for");
            }
        }
    }
}

/// <summary>A target's contract broken: afl counts it as a crash.</summary>
public sealed class ContractViolation : Exception
{
    public ContractViolation(string message) : base(message) { }

    public ContractViolation() { }

    public ContractViolation(string message, Exception innerException) : base(message, innerException) { }
}
