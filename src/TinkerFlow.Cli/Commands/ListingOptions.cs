using System.CommandLine;

namespace TinkerFlow.Cli.Commands;

/// <summary><c>--limit</c>, <c>--offset</c> and the hidden <c>--page-size</c> of the paged listings.</summary>
internal sealed class ListingOptions
{
    public ListingOptions(int defaultLimit)
    {
        Limit = new Option<int>("--limit", "-n")
        {
            Description = "How many to show; 0 fetches every page",
            DefaultValueFactory = _ => defaultLimit,
        };
    }

    public Option<int> Limit { get; }

    public Option<int> Offset { get; } = new("--offset")
    {
        Description = "How many to skip (newest first)",
        DefaultValueFactory = _ => 0,
    };

    public Option<int> PageSize { get; } = new("--page-size")
    {
        Description = "Items per request",
        DefaultValueFactory = _ => 100,
        Hidden = true,
    };

    public void AddTo(Command command)
    {
        command.Add(Limit);
        command.Add(Offset);
        command.Add(PageSize);
    }
}
