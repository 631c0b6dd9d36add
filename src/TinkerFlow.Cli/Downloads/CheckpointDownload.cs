using Spectre.Console;
using TinkerFlow.Types;

namespace TinkerFlow.Cli.Downloads;

/// <summary>
/// Fetches a checkpoint's archive with <see cref="RestClient.DownloadCheckpointArchiveAsync"/> (progress bar: bytes,
/// rate, time left) and unpacks it into a folder. The archive is downloaded into <c>&lt;folder&gt;.download/</c>, so an
/// interrupted download leaves its <c>.part</c> file there and the same command resumes it.
/// </summary>
internal static class CheckpointDownload
{
    /// <summary>Downloads and extracts the checkpoint at <paramref name="path"/> into <paramref name="directory"/>.</summary>
    /// <param name="context">Backend and console.</param>
    /// <param name="path">The parsed checkpoint path.</param>
    /// <param name="directory">The folder to unpack into.</param>
    /// <param name="keepArchive">Keep the archive as <c>&lt;folder&gt;.tar.gz</c> after unpacking.</param>
    /// <param name="cancellationToken">Stops the download (the partial file stays for a resume).</param>
    /// <returns>The extracted files, relative to <paramref name="directory"/>.</returns>
    public static async Task<IReadOnlyList<string>> RunAsync(
        CliContext context,
        ParsedCheckpointTinkerPath path,
        string directory,
        bool keepArchive,
        CancellationToken cancellationToken)
    {
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var staging = target + ".download";
        var resuming = Directory.Exists(staging) && Directory.EnumerateFiles(staging, "*.part").Any();
        var rest = context.Rest;
        string archive;
        if (context.ShowProgress)
        {
            archive = await context.Console.Progress()
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
                    var task = progress.AddTask(Markup.Escape(path.TinkerPath));
                    task.IsIndeterminate = true;
                    return await rest.DownloadCheckpointArchiveAsync(path.TinkerPath, staging, new TaskProgress(task), extract: false, cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        else
        {
            archive = await rest.DownloadCheckpointArchiveAsync(path.TinkerPath, staging, progress: null, extract: false, cancellationToken).ConfigureAwait(false);
        }

        if (resuming && !context.Json)
        {
            context.Console.WriteLine($"Resumed the earlier, interrupted download in {staging}.");
        }

        var files = await ArchiveExtractor.ExtractAsync(archive, target, cancellationToken).ConfigureAwait(false);
        if (keepArchive)
        {
            File.Move(archive, target + ".tar.gz", overwrite: true);
        }

        Directory.Delete(staging, recursive: true);
        return files;
    }

    /// <summary>Moves a Spectre progress task as bytes arrive (synchronously, unlike <see cref="Progress{T}"/>).</summary>
    private sealed class TaskProgress(ProgressTask task) : IProgress<ArchiveDownloadProgress>
    {
        public void Report(ArchiveDownloadProgress value)
        {
            if (value.TotalBytes is > 0 and var total)
            {
                task.IsIndeterminate = false;
                task.MaxValue = total;
            }

            task.Value = value.BytesDownloaded;
        }
    }
}
