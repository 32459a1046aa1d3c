using MailGateway.Core.Status;

namespace MailGateway.Core.Tests.Status;

public sealed class MessageListAddressTests
{
    [Theory]
    [InlineData("Bob@Example.COM", "bob@example.com")]
    [InlineData("bob@example.com", "bob@example.com")]
    [InlineData("Ann@Bücher.Example", "ann@xn--bcher-kva.example")]
    [InlineData("ann@XN--BCHER-KVA.example", "ann@xn--bcher-kva.example")]
    [InlineData("JOS\u00C9@example.net", "jos\u00E9@example.net")]
    [InlineData("\"A B\"@Example.net", "\"a b\"@example.net")]
    [InlineData("Ops@[192.0.2.1]", "ops@[192.0.2.1]")]
    [InlineData("Ops@[IPv6:2001:DB8::1]", "ops@[ipv6:2001:db8::1]")]
    public void Normalize_gives_one_form_per_address(string address, string expected) =>
        Assert.Equal(expected, MessageListAddress.Normalize(address));

    [Theory]
    [InlineData("x@")]
    [InlineData("@x")]
    [InlineData("Ünïcode@")]
    [InlineData("a@b@Ü..x")]
    [InlineData("Ä")]
    public void Normalize_of_text_that_is_not_an_address_is_lower_case_and_never_throws(string text)
    {
        var normalized = MessageListAddress.Normalize(text);

        Assert.Equal(normalized, normalized.ToLowerInvariant());
        Assert.Equal(normalized, MessageListAddress.Normalize(normalized));
    }
}
