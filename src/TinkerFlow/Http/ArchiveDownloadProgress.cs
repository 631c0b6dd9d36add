namespace TinkerFlow;

/// <summary>Progress of <see cref="RestClient.DownloadCheckpointArchiveAsync"/>.</summary>
/// <param name="BytesDownloaded">Bytes of the archive on disk so far (including bytes from an earlier, resumed download).</param>
/// <param name="TotalBytes">The archive's size, when the server told it.</param>
public sealed record ArchiveDownloadProgress(long BytesDownloaded, long? TotalBytes)
{
    /// <summary>The fraction done (0 to 1), when the size is known.</summary>
    public double? Fraction => TotalBytes is > 0 ? Math.Min(1.0, (double)BytesDownloaded / TotalBytes.Value) : null;
}
