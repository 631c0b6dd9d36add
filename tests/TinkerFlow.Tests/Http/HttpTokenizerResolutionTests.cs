using TinkerFlow.Tests.Tokenization;

namespace TinkerFlow.Tests.Http;

/// <summary>GetTokenizerAsync on the HTTP backend finds tokenizers on this machine with no user code.</summary>
public sealed class HttpTokenizerResolutionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tf-tokenizers-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task GetTokenizer_LoadsFromTheTokenizerFolderByOrgAndName()
    {
        CopyQwen3To(Path.Combine(_root, "folder", "Qwen", "Qwen3-8B"));
        await using var t = new HttpTestContext(o => { o.TokenizerDirectory = Path.Combine(_root, "folder"); o.HuggingFaceHubCache = null; });

        TinkerTokenizer tokenizer = await t.Backend.GetTokenizerAsync("Qwen/Qwen3-8B");

        Assert.Equal("Qwen/Qwen3-8B", tokenizer.Name);
        Assert.Equal([9707, 11, 1879, 0, 220, 16, 17, 18], tokenizer.Encode("Hello, world! 123"));
        Assert.Equal(151_645, tokenizer.EosTokenId);
        Assert.Same(tokenizer, await t.Backend.GetTokenizerAsync("Qwen/Qwen3-8B"));
        Assert.Same(tokenizer, await t.Backend.GetTokenizerAsync("Qwen/Qwen3-8B:some-revision"));
        Assert.Empty(t.Handler.Requests);
    }

    [Fact]
    public async Task GetTokenizer_LoadsFromTheHuggingFaceCacheSnapshotOfRefsMain()
    {
        string repo = Path.Combine(_root, "hub", "models--Qwen--Qwen3-8B");
        CopyQwen3To(Path.Combine(repo, "snapshots", "abc123"));
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", "old-without-tokenizer"));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "abc123");
        await using var t = new HttpTestContext(o => { o.TokenizerDirectory = Path.Combine(_root, "nothing-here"); o.HuggingFaceHubCache = Path.Combine(_root, "hub"); });

        TinkerTokenizer tokenizer = await t.Backend.GetTokenizerAsync("Qwen/Qwen3-8B");

        Assert.Equal([9707, 11, 1879, 0, 220, 16, 17, 18], tokenizer.Encode("Hello, world! 123"));
        var hf = Assert.IsType<HuggingFaceTokenizer>(tokenizer);
        Assert.StartsWith(Path.Combine(repo, "snapshots", "abc123"), hf.Source);
    }

    private static void CopyQwen3To(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (string file in (string[])["tokenizer.json.gz", "tokenizer_config.json"])
        {
            File.Copy(Path.Combine(TokenizerFixtures.Qwen3Directory, file), Path.Combine(directory, file));
        }
    }
}
