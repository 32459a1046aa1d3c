namespace MailGateway.Embedded;

internal static class UnixTime
{
    public static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static DateTimeOffset From(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
