using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using TinkerFlow.Http;
using static TinkerFlow.Tests.Http.ScriptedHandler;

namespace TinkerFlow.Tests.Http;

public sealed class ArchiveDownloadTests : IDisposable
{
    private const string Run = "sess-1:train:0";
    private readonly string _root = Directory.CreateTempSubdirectory("tinkerflow-archive-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Download_ResumesWithRangeReportsProgressAndExtracts()
    {
        var weights = new byte[300_000];
        new Random(7).NextBytes(weights);
        var archive = TarGz(("step-1/adapter_model.safetensors", weights), ("step-1/adapter_config.json", "{\"r\":8}"u8.ToArray()));
        var destination = Path.Combine(_root, "out");
        Directory.CreateDirectory(destination);
        var partial = Path.Combine(destination, "sess-1_train_0_weights_step-1.tar.gz.part");
        await File.WriteAllBytesAsync(partial, archive[..1000]);

        await using var t = new HttpTestContext();
        t.Handler.On($"GET /api/v1/training_runs/{Run}/checkpoints/weights/step-1/archive", Status(302, ("Location", "https://storage.test/blobs/a.tar.gz?sig=1")));
        t.Handler.On("GET /blobs/a.tar.gz", ServeWithRanges(archive));
        var rest = new RestClient(t.Backend);
        var progress = new ListProgress();

        var result = await rest.DownloadCheckpointArchiveAsync($"tinker://{Run}/weights/step-1", destination, progress);

        Assert.Equal(destination, result);
        Assert.Equal(weights, await File.ReadAllBytesAsync(Path.Combine(destination, "step-1", "adapter_model.safetensors")));
        Assert.Equal("{\"r\":8}", await File.ReadAllTextAsync(Path.Combine(destination, "step-1", "adapter_config.json")));
        Assert.False(File.Exists(partial));
        Assert.Empty(Directory.GetFiles(destination, "*.tar.gz*"));

        var download = Assert.Single(t.Handler.To("/blobs/a.tar.gz"));
        Assert.Equal("bytes=1000-", download.Header("Range"));
        Assert.Null(download.Header("X-API-Key"));
        Assert.Equal(new ArchiveDownloadProgress(1000, archive.Length), progress.Reports[0]);
        Assert.Equal(new ArchiveDownloadProgress(archive.Length, archive.Length), progress.Reports[^1]);
        Assert.Equal(1.0, progress.Reports[^1].Fraction);
    }

    [Fact]
    public async Task Download_FileUrlWithoutExtractionKeepsTheArchive()
    {
        var archive = TarGz(("c/a.txt", "hello"u8.ToArray()));
        var source = Path.Combine(_root, "source.tar.gz");
        await File.WriteAllBytesAsync(source, archive);
        var destination = Path.Combine(_root, "dest");
        var progress = new ListProgress();

        var result = await ArchiveDownloader.DownloadAsync(new Uri(source), destination, "x.tar.gz", progress, extract: false, http: null, CancellationToken.None);

        Assert.Equal(Path.Combine(destination, "x.tar.gz"), result);
        Assert.Equal(archive, await File.ReadAllBytesAsync(result));
        Assert.Equal(archive.Length, progress.Reports[^1].BytesDownloaded);
    }

    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("c/../../evil.txt")]
    [InlineData("/tmp/tinkerflow-evil.txt")]
    [InlineData("symlink")]
    public async Task Download_UnsafeArchiveIsRejectedAndNothingIsExtracted(string badEntry)
    {
        var source = Path.Combine(_root, "bad.tar.gz");
        await File.WriteAllBytesAsync(source, TarGz(("c/good.txt", "ok"u8.ToArray()), (badEntry, "pwned"u8.ToArray())));
        var destination = Path.Combine(_root, "inner", "dest");

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() =>
            ArchiveDownloader.DownloadAsync(new Uri(source), destination, "x.tar.gz", null, extract: true, http: null, CancellationToken.None));

        Assert.Contains(badEntry == "symlink" ? "SymbolicLink" : "outside", ex.Message);
        Assert.False(File.Exists(Path.Combine(destination, "c", "good.txt")));
        Assert.False(File.Exists(Path.Combine(_root, "inner", "evil.txt")));
        Assert.False(File.Exists(Path.Combine(_root, "evil.txt")));
        Assert.False(File.Exists("/tmp/tinkerflow-evil.txt"));
    }

    private static byte[] TarGz(params (string Name, byte[] Data)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (name, data) in entries)
            {
                if (name == "symlink")
                {
                    tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "c/link") { LinkName = "/etc/passwd" });
                    continue;
                }

                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            }
        }

        return buffer.ToArray();
    }

    private static Responder ServeWithRanges(byte[] content) => (request, _) =>
    {
        HttpResponseMessage response;
        if (request.Header("Range") is { } range && range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            var from = long.Parse(range["bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
            response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(content[(int)from..]) };
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, content.Length - 1, content.Length);
        }
        else
        {
            response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(content) };
        }

        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/gzip");
        return Task.FromResult(response);
    };

    private sealed class ListProgress : IProgress<ArchiveDownloadProgress>
    {
        public List<ArchiveDownloadProgress> Reports { get; } = [];

        public void Report(ArchiveDownloadProgress value) => Reports.Add(value);
    }
}
