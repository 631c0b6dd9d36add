using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using TinkerFlow.Types;

namespace TinkerFlow.Http;

/// <summary>
/// Downloads a checkpoint archive (tar.gz) from a <c>file://</c> or http(s) URL, resuming a partial download with an
/// HTTP Range request, and extracts it with path-traversal protection.
/// </summary>
internal static class ArchiveDownloader
{
    private const int MaxRedirects = 10;
    private const int BufferSize = 81920;

    private static readonly Lazy<HttpClient> SharedClient = new(() => new HttpClient(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(10),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    });

    /// <summary>The archive's file name: run id, kind and name, with characters unsafe in file names replaced.</summary>
    /// <param name="path">The checkpoint.</param>
    public static string FileNameFor(ParsedCheckpointTinkerPath path) =>
        $"{Sanitize(path.TrainingRunId)}_{ParsedCheckpointTinkerPath.KindSegment(path.CheckpointType)}_{Sanitize(path.Name)}.tar.gz";

    /// <summary>Downloads (and optionally extracts) an archive.</summary>
    /// <param name="url">A <c>file://</c> or http(s) URL.</param>
    /// <param name="destinationDirectory">Where the archive (or its contents) goes; created if missing.</param>
    /// <param name="archiveFileName">File name of the archive inside <paramref name="destinationDirectory"/>.</param>
    /// <param name="progress">Receives progress reports.</param>
    /// <param name="extract">Extract into <paramref name="destinationDirectory"/> and delete the archive.</param>
    /// <param name="http">The HTTP client for http(s) URLs; null uses a shared one. It must not follow redirects by itself.</param>
    /// <param name="cancellationToken">Cancels the download; a partial file is kept for resuming.</param>
    /// <returns>The destination folder when extracted, else the archive's path.</returns>
    public static async Task<string> DownloadAsync(
        Uri url,
        string destinationDirectory,
        string archiveFileName,
        IProgress<ArchiveDownloadProgress>? progress,
        bool extract,
        HttpClient? http,
        CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(destinationDirectory);
        var archivePath = Path.Combine(destinationDirectory, archiveFileName);
        var partPath = archivePath + ".part";
        if (url.IsFile)
        {
            await CopyFileAsync(url.LocalPath, partPath, progress, cancellationToken).ConfigureAwait(false);
        }
        else if (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
        {
            await DownloadHttpAsync(http ?? SharedClient.Value, url, partPath, progress, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw new NotSupportedException($"Cannot download a checkpoint archive from '{url}': only file:// and http(s):// URLs are supported.");
        }

        File.Move(partPath, archivePath, overwrite: true);
        if (!extract)
        {
            return archivePath;
        }

        ExtractTarGz(archivePath, destinationDirectory, cancellationToken);
        File.Delete(archivePath);
        return destinationDirectory;
    }

    /// <summary>
    /// Extracts a tar.gz into a folder. Every entry is checked before anything is written: entries whose path is
    /// absolute or leaves the folder, and links or device entries, make the whole archive fail.
    /// </summary>
    /// <param name="archivePath">The tar.gz file.</param>
    /// <param name="destinationDirectory">The folder to extract into.</param>
    /// <param name="cancellationToken">Cancels between entries.</param>
    public static void ExtractTarGz(string archivePath, string destinationDirectory, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(destinationDirectory);
        var rootWithSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;

        // Pass 1: validate every entry, so that an unsafe archive writes nothing.
        ForEachEntry(archivePath, entry =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            _ = TargetPath(entry, rootWithSeparator, archivePath);
        });

        // Pass 2: extract.
        ForEachEntry(archivePath, entry =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TargetPath(entry, rootWithSeparator, archivePath) is not { } target)
            {
                return;
            }

            if (entry.EntryType == TarEntryType.Directory)
            {
                Directory.CreateDirectory(target);
                return;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            entry.ExtractToFile(target, overwrite: true);
        });
    }

    private static void ForEachEntry(string archivePath, Action<TarEntry> action)
    {
        using var file = File.OpenRead(archivePath);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            action(entry);
        }
    }

    /// <summary>Where an entry goes, null for metadata entries to skip; throws for unsafe entries.</summary>
    private static string? TargetPath(TarEntry entry, string rootWithSeparator, string archivePath)
    {
        switch (entry.EntryType)
        {
            case TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes:
                return null;
            case TarEntryType.Directory or TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                break;
            default:
                throw new InvalidDataException(
                    $"Checkpoint archive '{archivePath}' contains '{entry.Name}' of type {entry.EntryType}; only files and folders are extracted. Refusing the archive.");
        }

        var name = entry.Name;
        if (string.IsNullOrEmpty(name) || Path.IsPathRooted(name) || name.StartsWith('/') || name.StartsWith('\\'))
        {
            throw Unsafe(archivePath, name, rootWithSeparator);
        }

        var full = Path.GetFullPath(Path.Combine(rootWithSeparator, name));
        var fullAsFolder = Path.EndsInDirectorySeparator(full) ? full : full + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSeparator, StringComparison.Ordinal) && fullAsFolder != rootWithSeparator)
        {
            throw Unsafe(archivePath, name, rootWithSeparator);
        }

        return full;
    }

    private static InvalidDataException Unsafe(string archivePath, string name, string root) =>
        new($"Checkpoint archive '{archivePath}' has an entry '{name}' that would be written outside '{root}'. Refusing the unsafe archive; nothing was extracted.");

    private static async Task CopyFileAsync(string sourcePath, string partPath, IProgress<ArchiveDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        if (!File.Exists(sourcePath))
        {
            throw new FileNotFoundException($"The checkpoint archive '{sourcePath}' does not exist (it may have expired); ask for a new archive URL.", sourcePath);
        }

        await using var source = new FileStream(sourcePath, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
        var total = source.Length;
        var existing = File.Exists(partPath) ? new FileInfo(partPath).Length : 0;
        if (existing > total)
        {
            existing = 0;
        }

        source.Seek(existing, SeekOrigin.Begin);
        await using var target = new FileStream(partPath, existing > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
        await CopyWithProgressAsync(source, target, existing, total, progress, cancellationToken).ConfigureAwait(false);
    }

    private static async Task DownloadHttpAsync(HttpClient http, Uri url, string partPath, IProgress<ArchiveDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var existing = File.Exists(partPath) ? new FileInfo(partPath).Length : 0;
        var current = url;
        for (var redirects = 0; ; )
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (existing > 0)
            {
                request.Headers.Range = new RangeHeaderValue(existing, null);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
            {
                if (++redirects > MaxRedirects)
                {
                    throw new TinkerRequestException($"Downloading the checkpoint archive from {url} followed more than {MaxRedirects} redirects; giving up.", RequestErrorCategory.Server, status);
                }

                current = location.IsAbsoluteUri ? location : new Uri(current, location);
                continue;
            }

            if (status == 416 && existing > 0)
            {
                // The partial file is at least as long as the archive: complete if the sizes match, else start over.
                if (response.Content.Headers.ContentRange?.Length == existing)
                {
                    progress?.Report(new ArchiveDownloadProgress(existing, existing));
                    return;
                }

                File.Delete(partPath);
                existing = 0;
                continue;
            }

            long? total;
            FileMode mode;
            if (status == 206 && existing > 0 && response.Content.Headers.ContentRange is { From: { } from } range && from == existing)
            {
                total = range.Length;
                mode = FileMode.Append;
            }
            else if (status == 200)
            {
                // The server ignored the range (or there was none): start from scratch.
                existing = 0;
                total = response.Content.Headers.ContentLength;
                mode = FileMode.Create;
            }
            else
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                throw new TinkerRequestException(
                    $"Downloading the checkpoint archive failed: GET {current.GetLeftPart(UriPartial.Path)} answered HTTP {status}: {HttpErrors.ServerMessage(body)}. " +
                    "Archive URLs expire; call DownloadCheckpointArchiveAsync again to get a fresh one (it resumes the partial download).",
                    status is >= 400 and < 500 ? RequestErrorCategory.User : RequestErrorCategory.Server,
                    status,
                    responseBody: body);
            }

            await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var target = new FileStream(partPath, mode, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
            await CopyWithProgressAsync(source, target, existing, total, progress, cancellationToken).ConfigureAwait(false);
            return;
        }
    }

    private static async Task CopyWithProgressAsync(Stream source, Stream target, long done, long? total, IProgress<ArchiveDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new ArchiveDownloadProgress(done, total));
        var buffer = new byte[BufferSize];
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            done += read;
            progress?.Report(new ArchiveDownloadProgress(done, total));
        }

        if (total is { } expected && done != expected)
        {
            throw new IOException($"The checkpoint archive download ended after {done} of {expected} bytes; call DownloadCheckpointArchiveAsync again to resume.");
        }
    }

    private static string Sanitize(string value)
    {
        var invalid = Path.GetInvalidFileNameChars();
        return string.Create(value.Length, value, (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = s[i] == ':' || Array.IndexOf(invalid, s[i]) >= 0 ? '_' : s[i];
            }
        });
    }
}
