using System.CommandLine;

namespace TinkerFlow.Cli;

/// <summary>The options every command accepts (declared once on the root command, recursive).</summary>
internal sealed class GlobalOptions
{
    public Option<string?> BaseUrl { get; } = new("--base-url")
    {
        Description = "URL of a Tinker-compatible server (default: TINKER_BASE_URL; unset: the embedded engine)",
        HelpName = "url",
        Recursive = true,
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = "API key for --base-url (default: TINKER_API_KEY)",
        HelpName = "key",
        Recursive = true,
    };

    public Option<string?> Home { get; } = new("--home")
    {
        Description = "Data folder of the embedded engine (default: TINKERFLOW_HOME, else ~/.tinkerflow)",
        HelpName = "dir",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Write the result as JSON on stdout instead of a table",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Add(BaseUrl);
        root.Add(ApiKey);
        root.Add(Home);
        root.Add(Json);
    }
}
