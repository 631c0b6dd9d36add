namespace TinkerFlow.Cli.Tests;

/// <summary><c>checkpoint download</c> and <c>export --peft|--merged</c> on the embedded engine, with reload checks.</summary>
[Collection("Torch")]
public sealed class DownloadAndExportCommandTests : IAsyncLifetime
{
    private const string Probe = "the cat sat on the mat and a b c";

    private SeededHome _home = null!;
    private string _out = null!;

    public async Task InitializeAsync()
    {
        _home = await SeededHome.CreateAsync();
        _out = Directory.CreateTempSubdirectory("tinkerflow-cli-out-").FullName;
    }

    public async Task DisposeAsync()
    {
        await _home.DisposeAsync();
        Directory.Delete(_out, recursive: true);
    }

    [Fact]
    public async Task Download_UnpacksTheCheckpointFilesIntoTheFolder()
    {
        var target = Path.Combine(_out, "state");
        var result = await _home.Cli.RunAsync("checkpoint", "download", _home.StatePath, "-o", target);

        Assert.Equal(0, result.ExitCode);
        Assert.True(File.Exists(Path.Combine(target, "adapter_model.safetensors")), result.ToString());
        Assert.True(File.Exists(Path.Combine(target, "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(target, "optimizer.safetensors")));
        Assert.False(File.Exists(target + ".tar.gz"));
        Assert.False(File.Exists(target + ".tar.gz.part"));
        Assert.Contains($"into {target}", result.Output);
    }

    [Fact]
    public async Task Download_ResumesAnInterruptedDownload()
    {
        // An earlier run stopped half-way: its partial archive sits in <folder>.download/.
        var target = Path.Combine(_out, "resumed");
        byte[] archive;
        await using (var backend = _home.OpenBackend())
        await using (var service = new ServiceClient(backend))
        {
            var link = await service.CreateRestClient().GetCheckpointArchiveUrlFromTinkerPathAsync(_home.StatePath);
            archive = await File.ReadAllBytesAsync(new Uri(link.Url).LocalPath);
        }

        Directory.CreateDirectory(target + ".download");
        var part = Path.Combine(target + ".download", $"{_home.RunId}_weights_step-3.tar.gz.part");
        await File.WriteAllBytesAsync(part, archive[..(archive.Length / 2)]);

        var result = await _home.Cli.RunAsync("checkpoint", "download", _home.StatePath, "-o", target);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Resumed the earlier, interrupted download", result.Output);
        Assert.True(File.Exists(Path.Combine(target, "optimizer.safetensors")), result.ToString());
        Assert.False(Directory.Exists(target + ".download"));
    }

    [Fact]
    public async Task Download_RefusesANonEmptyFolderUnlessForced()
    {
        var target = Path.Combine(_out, "busy");
        Directory.CreateDirectory(target);
        await File.WriteAllTextAsync(Path.Combine(target, "keep.txt"), "mine");

        var refused = await _home.Cli.RunAsync("checkpoint", "download", _home.SamplerPath, "-o", target);
        var forced = await _home.Cli.RunAsync("checkpoint", "download", _home.SamplerPath, "-o", target, "--force", "--keep-archive", "--json");

        Assert.Equal(ExitCodes.UserError, refused.ExitCode);
        Assert.Contains("is not empty", refused.Error);
        Assert.Contains("--force", refused.Error);
        Assert.Equal(0, forced.ExitCode);
        Assert.Contains("adapter_model.safetensors", forced.Json["files"]!.AsArray().Select(f => (string?)f));
        Assert.Equal("mine", await File.ReadAllTextAsync(Path.Combine(target, "keep.txt")));
        Assert.True(File.Exists(target + ".tar.gz"));
    }

    [Fact]
    public async Task Download_UnknownCheckpointIsAUserError()
    {
        var result = await _home.Cli.RunAsync("checkpoint", "download", $"tinker://{_home.RunId}/weights/missing", "-o", Path.Combine(_out, "x"));

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.StartsWith("error: ", result.Error);
        Assert.False(Directory.Exists(Path.Combine(_out, "x")));
    }

    [Fact]
    public async Task ExportPeft_WritesAnAdapterThatReloadsToTheSameLogprobs()
    {
        var peft = Path.Combine(_out, "peft");
        var export = await _home.Cli.RunAsync("export", "--path", _home.SamplerPath, "--peft", peft, "--json");
        Assert.Equal(0, export.ExitCode);
        Assert.Equal(["adapter_model.safetensors", "adapter_config.json"], export.Json["files"]!.AsArray().Select(f => (string?)f));

        // Re-import: a fresh, untrained run's sampler checkpoint gets the exported files, then is sampled from disk.
        string blankPath;
        string blankDir;
        await using (var backend = _home.OpenBackend())
        await using (var service = new ServiceClient(backend))
        {
            var blank = await service.CreateLoraTrainingClientAsync(SeededHome.Model, rank: 4, seed: 99);
            blankPath = (await blank.SaveWeightsForSamplerAsync(WaitUntil.Completed, "import")).Value.Path!;
            blankDir = Path.Combine(_home.Path, "runs", blank.ModelId, "sampler_weights", "import");
        }

        var trained = await _home.LogprobsAsync(Probe, modelPath: _home.SamplerPath);
        var before = await _home.LogprobsAsync(Probe, modelPath: blankPath);
        foreach (var file in new[] { "adapter_model.safetensors", "adapter_config.json" })
        {
            File.Copy(Path.Combine(peft, file), Path.Combine(blankDir, file), overwrite: true);
        }

        var reloaded = await _home.LogprobsAsync(Probe, modelPath: blankPath);

        Assert.True(MaxAbsDiff(trained, before) > 1e-3, "training should have moved the logprobs away from a fresh adapter");
        Assert.True(MaxAbsDiff(trained, reloaded) < 1e-6, $"max diff {MaxAbsDiff(trained, reloaded)}");
    }

    [Fact]
    public async Task ExportMerged_WritesAModelThatLoadsAsABaseModelWithTheAdaptersLogprobs()
    {
        var merged = Path.Combine(_out, "merged");
        var export = await _home.Cli.RunAsync("export", "--path", _home.StatePath, "--merged", merged);
        Assert.Equal(0, export.ExitCode);
        Assert.True(File.Exists(Path.Combine(merged, "config.json")), export.ToString());
        Assert.True(File.Exists(Path.Combine(merged, "tokenizer.json")));
        Assert.NotEmpty(Directory.GetFiles(merged, "*.safetensors"));

        var models = new Dictionary<string, string> { ["merged-tiny"] = merged };
        var adapter = await _home.LogprobsAsync(Probe, modelPath: _home.SamplerPath);
        var asBase = await _home.LogprobsAsync(Probe, baseModel: "merged-tiny", models: models);
        var original = await _home.LogprobsAsync(Probe, baseModel: SeededHome.Model);

        Assert.True(MaxAbsDiff(adapter, original) > 1e-3, "the adapter should differ from its base model");
        Assert.True(MaxAbsDiff(adapter, asBase) < 1e-4, $"max diff {MaxAbsDiff(adapter, asBase)}");
    }

    [Fact]
    public async Task ExportMerged_SampleCommandUsesItThroughTinkerflowModels()
    {
        var merged = Path.Combine(_out, "merged");
        Assert.Equal(0, (await _home.Cli.RunAsync("export", "--path", _home.SamplerPath, "--merged", merged)).ExitCode);
        var cli = _home.Cli;
        cli.Environment["TINKERFLOW_MODELS"] = $"merged-tiny={merged}";

        var models = await cli.RunAsync("models", "--json");
        var fromMerged = await cli.RunAsync("sample", "--base-model", "merged-tiny", "--prompt", "the cat", "--max-tokens", "6", "--temperature", "0", "--json");
        var fromAdapter = await cli.RunAsync("sample", "--model-path", _home.SamplerPath, "--prompt", "the cat", "--max-tokens", "6", "--temperature", "0", "--json");

        Assert.Contains("merged-tiny", models.Json["supported_models"]!.AsArray().Select(m => (string?)m!["model_name"]));
        Assert.Equal(0, fromMerged.ExitCode);
        Assert.Equal(
            fromAdapter.Json["samples"]![0]!["tokens"]!.ToJsonString(),
            fromMerged.Json["samples"]![0]!["tokens"]!.ToJsonString());
    }

    [Theory]
    [InlineData(false, false, "Say what to export")]
    [InlineData(true, true, "not both")]
    public async Task Export_NeedsExactlyOneFormat(bool peft, bool merged, string message)
    {
        var args = new List<string> { "export", "--path", _home.SamplerPath };
        if (peft)
        {
            args.AddRange(["--peft", Path.Combine(_out, "p")]);
        }

        if (merged)
        {
            args.AddRange(["--merged", Path.Combine(_out, "m")]);
        }

        var result = await _home.Cli.RunAsync(args.ToArray());

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains(message, result.Error);
    }

    [Fact]
    public async Task Export_MissingPathOptionIsAUserError()
    {
        var result = await _home.Cli.RunAsync("export", "--peft", Path.Combine(_out, "p"));

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("--path", result.Error);
        Assert.Contains("tinkerflow export --help", result.Error);
    }

    private static double MaxAbsDiff(double[] a, double[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }
}
