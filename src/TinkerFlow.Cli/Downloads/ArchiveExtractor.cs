using System.Formats.Tar;
using System.IO.Compression;

namespace TinkerFlow.Cli.Downloads;

/// <summary>Unpacks a checkpoint's tar.gz into a folder. The archive's single top folder (e.g. <c>weights-step-10/</c>)
/// is dropped, so the folder holds the checkpoint's files directly. Entries may not point outside the folder.</summary>
internal static class ArchiveExtractor
{
    /// <summary>Extracts <paramref name="archive"/> into <paramref name="directory"/>, replacing files of the same name.</summary>
    /// <returns>The extracted files, relative to <paramref name="directory"/>.</returns>
    public static async Task<IReadOnlyList<string>> ExtractAsync(string archive, string directory, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(directory);
        var staging = target.TrimEnd(Path.DirectorySeparatorChar) + $".extract-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        try
        {
            try
            {
                await using var file = File.OpenRead(archive);
                await using var gzip = new GZipStream(file, CompressionMode.Decompress);
                await TarFile.ExtractToDirectoryAsync(gzip, staging, overwriteFiles: true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
            {
                File.Delete(archive);
                throw new CliUserException($"The downloaded archive is damaged ({ex.Message}) and was deleted.", "Run the command again to download it afresh.");
            }

            var root = staging;
            var dirs = Directory.GetDirectories(staging);
            if (dirs.Length == 1 && Directory.GetFiles(staging).Length == 0)
            {
                root = dirs[0];
            }

            Directory.CreateDirectory(target);
            var files = new List<string>();
            foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(root, path);
                var destination = Path.Combine(target, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                File.Move(path, destination, overwrite: true);
                files.Add(relative);
            }

            return files;
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }
}
