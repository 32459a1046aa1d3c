namespace MailGateway.Testing;

/// <summary>Finds the checkout's root (the folder holding MailGateway.sln) from the test binaries.</summary>
public static class RepositoryRoot
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MailGateway.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("MailGateway.sln not found above " + AppContext.BaseDirectory);
    });

    /// <summary>The absolute path of the checkout.</summary>
    public static string FullPath => Root.Value;

    /// <summary>Combines parts under the checkout's root.</summary>
    public static string Combine(params string[] parts) => Path.Combine([Root.Value, .. parts]);
}
