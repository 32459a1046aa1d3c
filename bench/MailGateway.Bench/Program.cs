using MailGateway.Bench;

return args.FirstOrDefault() switch
{
    "engine" => await EngineBenchmark.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: MailGateway.Bench engine HOST:PORT [messages=5000] [concurrency=20] [size_kb=4]");
    return 2;
}
