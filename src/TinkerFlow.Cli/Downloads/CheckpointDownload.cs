using Spectre.Console;
using TinkerFlow.Types;

namespace TinkerFlow.Cli.Downloads;

/// <summary>Fetches a checkpoint's archive (with a progress bar: bytes, rate, time left) and unpacks it into a folder.</summary>
internal static class CheckpointDownload
{
    /// <summary>Downloads and extracts the checkpoint at <paramref name="path"/> into <paramref name="directory"/>.</summary>
    /// <param name="context">Backend and console.</param>
    /// <param name="path">The parsed checkpoint path.</param>
    /// <param name="directory">The folder to unpack into.</param>
    /// <param name="archive">Where the archive is downloaded to (its <c>.part</c> file makes a rerun resume).</param>
    /// <param name="keepArchive">Keep the archive after unpacking.</param>
    /// <param name="cancellationToken">Stops the download.</param>
    /// <returns>The extracted files, relative to <paramref name="directory"/>.</returns>
    public static async Task<IReadOnlyList<string>> RunAsync(
        CliContext context,
        ParsedCheckpointTinkerPath path,
        string directory,
        string archive,
        bool keepArchive,
        CancellationToken cancellationToken)
    {
        var link = await context.Rest.GetCheckpointArchiveUrlAsync(path.TrainingRunId, path.CheckpointId, cancellationToken).ConfigureAwait(false);
        if (!Uri.TryCreate(link.Url, UriKind.Absolute, out var url) && (context.BaseUrl is null || !Uri.TryCreate(context.BaseUrl, link.Url, out url)))
        {
            throw new TinkerRequestException($"The backend returned an archive URL that is not a URL: '{link.Url}'.", RequestErrorCategory.Server);
        }

        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        if (context.ApiKey is { } key && context.BaseUrl is { } server && Uri.Compare(url, server, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
        {
            http.DefaultRequestHeaders.Add("X-API-Key", key);
        }

        var downloader = new ArchiveDownloader(http);
        long resumedFrom;
        if (context.ShowProgress)
        {
            resumedFrom = await context.Console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(
                    new TaskDescriptionColumn(),
                    new ProgressBarColumn(),
                    new PercentageColumn(),
                    new DownloadedColumn(),
                    new TransferSpeedColumn(),
                    new RemainingTimeColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask(Markup.Escape(path.TinkerPath), autoStart: true);
                    task.IsIndeterminate = true;
                    return await downloader.DownloadAsync(
                        url,
                        archive,
                        (done, total) =>
                        {
                            if (total is { } t && t > 0)
                            {
                                task.IsIndeterminate = false;
                                task.MaxValue = t;
                            }

                            task.Value = done;
                        },
                        cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        else
        {
            resumedFrom = await downloader.DownloadAsync(url, archive, (_, _) => { }, cancellationToken).ConfigureAwait(false);
        }

        if (resumedFrom > 0 && !context.Json)
        {
            context.Console.WriteLine($"Resumed an earlier download at {Output.Formatting.Bytes(resumedFrom)}.");
        }

        var files = await ArchiveExtractor.ExtractAsync(archive, directory, cancellationToken).ConfigureAwait(false);
        if (!keepArchive)
        {
            File.Delete(archive);
        }

        return files;
    }
}
