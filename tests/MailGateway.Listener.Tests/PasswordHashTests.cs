namespace MailGateway.Listener.Tests;

public sealed class PasswordHashTests
{
    [Fact]
    public void Verify_RightPassword_IsTrue()
    {
        var hash = PasswordHash.Create("correct horse", 1000);
        Assert.StartsWith("PBKDF2-SHA256$1000$", hash, StringComparison.Ordinal);
        Assert.True(PasswordHash.Verify("correct horse", hash));
    }

    [Fact]
    public void Verify_WrongPassword_IsFalse() =>
        Assert.False(PasswordHash.Verify("wrong", PasswordHash.Create("correct horse", 1000)));

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("PBKDF2-SHA256$10$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("PBKDF2-SHA256$1000$***$AAAA")]
    public void Verify_MalformedHash_IsFalse(string hash)
    {
        Assert.False(PasswordHash.IsWellFormed(hash));
        Assert.False(PasswordHash.Verify("x", hash));
    }

    [Fact]
    public void Create_SamePassword_SaltsDifferently() =>
        Assert.NotEqual(PasswordHash.Create("pw", 1000), PasswordHash.Create("pw", 1000));
}
