using MailGateway.Bench;

return args.FirstOrDefault() switch
{
    "engine" => await EngineBenchmark.RunAsync(args[1..]),
    "e2e" => await EndToEndBenchmark.RunAsync(args[1..]),
    "inbound-group-commit" => await InboundHost.RunAsync(args[1..]),
    "dkim-sign" => await DkimSignBenchmark.RunAsync(args[1..]),
    "servicebus" when args.Length > 1 => await ServiceBusBenchmark.RunAsync(args[1..]),
    "servicebus-deadletters" => await DeadLetterBenchmark.RunAsync(args[1..]),
    "smtp-load" => await SubmissionLoad.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: MailGateway.Bench engine HOST:PORT [messages=5000] [concurrency=20] [size_kb=4]");
    Console.Error.WriteLine("       MailGateway.Bench e2e API_URL API_KEY idle|RATE|max MESSAGES [concurrency=50]");
    Console.Error.WriteLine("       MailGateway.Bench dkim-sign [messages=2000]   (CPU per message: compose, compose + DKIM sign)");
    Console.Error.WriteLine("       MailGateway.Bench servicebus HOST:PORT [messages=5000] [concurrency=20] [rounds=3] [azurite_messages=messages/5]");
    Console.Error.WriteLine("                         (the Azure worker's path on the in-memory broker; MAILGATEWAY_BENCH_AZURITE=connection string adds the Table/Blob rows)");
    Console.Error.WriteLine("       MailGateway.Bench servicebus-deadletters [dead_letters=5000] [keys=50] [rounds=20] [replays=1000]   (MAILGATEWAY_BENCH_AZURITE required)");
    Console.Error.WriteLine("       MailGateway.Bench smtp-load PORT MESSAGES SESSIONS SIZE_KB [KEY_ID KEY CA_PEM]   (MailKit, connections reused; with a key: STARTTLS + AUTH)");
    Console.Error.WriteLine("       MailGateway.Bench inbound-group-commit [--MailGateway:Inbound:...]   (prototype store, see GroupCommitStore)");
    return 2;
}
