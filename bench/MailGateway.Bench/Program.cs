using MailGateway.Bench;

return args.FirstOrDefault() switch
{
    "engine" => await EngineBenchmark.RunAsync(args[1..]),
    "e2e" => await EndToEndBenchmark.RunAsync(args[1..]),
    "inbound-group-commit" => await InboundHost.RunAsync(args[1..]),
    "dkim-sign" => await DkimSignBenchmark.RunAsync(args[1..]),
    "smtp-load" => await SubmissionLoad.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: MailGateway.Bench engine HOST:PORT [messages=5000] [concurrency=20] [size_kb=4]");
    Console.Error.WriteLine("       MailGateway.Bench e2e API_URL API_KEY idle|RATE|max MESSAGES [concurrency=50]");
    Console.Error.WriteLine("       MailGateway.Bench dkim-sign [messages=2000]   (CPU per message: compose, compose + DKIM sign)");
    Console.Error.WriteLine("       MailGateway.Bench smtp-load PORT MESSAGES SESSIONS SIZE_KB [KEY_ID KEY CA_PEM]   (MailKit, connections reused; with a key: STARTTLS + AUTH)");
    Console.Error.WriteLine("       MailGateway.Bench inbound-group-commit [--MailGateway:Inbound:...]   (prototype store, see GroupCommitStore)");
    return 2;
}
