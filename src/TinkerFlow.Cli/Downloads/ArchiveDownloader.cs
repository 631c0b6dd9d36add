using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinkerFlow.Types;

namespace TinkerFlow.Cli.Downloads;

/// <summary>
/// Downloads a checkpoint archive to a file, resumably: bytes arrive in <c>&lt;file&gt;.part</c>, and a later run with
/// the same destination continues from where it stopped (HTTP <c>Range</c> + <c>If-Range</c> on the server's ETag or
/// Last-Modified; a changed archive restarts from zero). <c>file://</c> URLs (the embedded engine) are copied.
/// </summary>
internal sealed class ArchiveDownloader(HttpClient http)
{
    private const int BufferSize = 1 << 16;

    /// <summary>Downloads <paramref name="url"/> to <paramref name="destination"/>.</summary>
    /// <param name="url">The archive URL (http, https or file).</param>
    /// <param name="destination">The finished file's path.</param>
    /// <param name="report">Called with (bytes so far, total bytes or null) as data arrives.</param>
    /// <param name="cancellationToken">Stops the download; the part file stays for a resume.</param>
    /// <returns>The bytes that were already there from an earlier, interrupted run.</returns>
    public async Task<long> DownloadAsync(Uri url, string destination, Action<long, long?> report, CancellationToken cancellationToken)
    {
        var part = destination + ".part";
        var meta = destination + ".part.json";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        long resumedFrom;
        if (url.IsFile)
        {
            resumedFrom = await CopyFileAsync(url.LocalPath, part, report, cancellationToken).ConfigureAwait(false);
        }
        else if (url.Scheme is "http" or "https")
        {
            resumedFrom = await DownloadHttpAsync(url, part, meta, report, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw new CliUserException($"The archive URL '{url}' has an unsupported scheme '{url.Scheme}'.", "The server must return an http(s) URL for archives.");
        }

        File.Move(part, destination, overwrite: true);
        File.Delete(meta);
        return resumedFrom;
    }

    private static async Task<long> CopyFileAsync(string source, string part, Action<long, long?> report, CancellationToken cancellationToken)
    {
        // A local archive is written fresh for every request, so a partial copy of another one cannot be continued.
        await using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
        await using var output = new FileStream(part, FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
        await CopyAsync(input, output, 0, input.Length, report, cancellationToken).ConfigureAwait(false);
        return 0;
    }

    private async Task<long> DownloadHttpAsync(Uri url, string part, string meta, Action<long, long?> report, CancellationToken cancellationToken)
    {
        var existing = File.Exists(part) ? new FileInfo(part).Length : 0;
        var validator = existing > 0 ? ReadValidator(meta) : null;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (existing > 0 && validator is not null)
        {
            request.Headers.Range = new RangeHeaderValue(existing, null);
            request.Headers.IfRange = validator.StartsWith('"') || validator.StartsWith("W/", StringComparison.Ordinal)
                ? new RangeConditionHeaderValue(EntityTagHeaderValue.Parse(validator))
                : new RangeConditionHeaderValue(DateTimeOffset.Parse(validator, System.Globalization.CultureInfo.InvariantCulture));
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && existing > 0
            && response.Content.Headers.ContentRange?.Length == existing)
        {
            report(existing, existing);
            return existing;
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            var message = $"Downloading the archive failed with HTTP {status} {response.ReasonPhrase}.";
            if (status is 403 or 404 or 410)
            {
                throw new CliUserException(message, "The download URL may have expired; run the command again to get a fresh one.");
            }

            throw new TinkerRequestException(message, RequestErrorCategory.Server, status);
        }

        var resumed = response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == existing;
        var start = resumed ? existing : 0;
        var total = response.Content.Headers.ContentRange?.Length ?? (response.Content.Headers.ContentLength is { } length ? start + length : null);
        var newValidator = response.Headers.ETag?.ToString()
            ?? response.Content.Headers.LastModified?.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        if (!resumed)
        {
            WriteValidator(meta, newValidator);
        }

        await using var input = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var output = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
        await CopyAsync(input, output, start, total, report, cancellationToken).ConfigureAwait(false);
        if (total is { } expected && output.Length != expected)
        {
            throw new TinkerRequestException(
                $"The archive download stopped at {output.Length} of {expected} bytes; run the command again to resume.", RequestErrorCategory.Server);
        }

        return start;
    }

    private static async Task CopyAsync(Stream input, Stream output, long start, long? total, Action<long, long?> report, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        var done = start;
        report(done, total);
        int read;
        while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            done += read;
            report(done, total);
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string? ReadValidator(string meta)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(meta))?["validator"]?.GetValue<string>();
        }
        catch (Exception ex) when (ex is IOException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static void WriteValidator(string meta, string? validator)
    {
        if (validator is null)
        {
            File.Delete(meta);
            return;
        }

        File.WriteAllText(meta, new JsonObject { ["validator"] = validator }.ToJsonString());
    }
}
