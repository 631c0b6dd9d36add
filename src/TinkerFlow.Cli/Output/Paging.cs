using Spectre.Console;

namespace TinkerFlow.Cli.Output;

/// <summary>Fetches a listing page by page: <c>limit</c> items from <c>offset</c> (0 = all), with a progress bar
/// once more than one page is needed.</summary>
internal static class Paging
{
    /// <summary>The largest page the REST listings accept.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Fetches the items.</summary>
    /// <param name="context">Console and JSON mode.</param>
    /// <param name="what">Plural noun for the progress line, e.g. "checkpoints".</param>
    /// <param name="limit">How many items; 0 for all.</param>
    /// <param name="offset">Items to skip.</param>
    /// <param name="pageSize">Items per request.</param>
    /// <param name="fetchPage">Gets one page: (limit, offset) to (items, total count).</param>
    /// <returns>The items and the listing's total count.</returns>
    public static async Task<(List<T> Items, int Total)> FetchAsync<T>(
        CliContext context,
        string what,
        int limit,
        int offset,
        int pageSize,
        Func<int, int, Task<(IReadOnlyList<T> Items, int Total)>> fetchPage)
    {
        if (limit < 0)
        {
            throw new CliUserException($"--limit must be 0 (everything) or positive, not {limit}.", "Use --limit 0 to fetch every page.");
        }

        if (offset < 0)
        {
            throw new CliUserException($"--offset must not be negative, not {offset}.");
        }

        if (pageSize is < 1 or > MaxPageSize)
        {
            throw new CliUserException($"--page-size must be between 1 and {MaxPageSize}, not {pageSize}.");
        }

        var items = new List<T>();
        var (first, total) = await fetchPage(NextPage(limit, pageSize, 0), offset).ConfigureAwait(false);
        items.AddRange(first);
        var wanted = limit == 0 ? Math.Max(0, total - offset) : Math.Min(limit, Math.Max(0, total - offset));
        if (first.Count == 0 || items.Count >= wanted)
        {
            return (items, total);
        }

        async Task RestAsync(ProgressTask? task)
        {
            while (items.Count < wanted)
            {
                var (page, pageTotal) = await fetchPage(NextPage(limit, pageSize, items.Count), offset + items.Count).ConfigureAwait(false);
                total = pageTotal;
                if (page.Count == 0)
                {
                    break;
                }

                items.AddRange(page);
                task?.Value(items.Count);
            }
        }

        if (!context.ShowProgress)
        {
            await RestAsync(null).ConfigureAwait(false);
            return (items, total);
        }

        await context.Console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask($"Fetching {what}", maxValue: wanted);
                task.Value(items.Count);
                await RestAsync(task).ConfigureAwait(false);
                task.Value(task.MaxValue);
            }).ConfigureAwait(false);
        return (items, total);
    }

    private static int NextPage(int limit, int pageSize, int fetched) => limit == 0 ? pageSize : Math.Min(pageSize, limit - fetched);
}
