namespace TinkerFlow.Cli.Tests;

/// <summary><c>models</c>, <c>run list</c> and <c>run info</c> on the embedded engine.</summary>
[Collection("Torch")]
public sealed class ModelsAndRunCommandTests : IAsyncLifetime
{
    private SeededHome _home = null!;

    public async Task InitializeAsync() => _home = await SeededHome.CreateAsync();

    public async Task DisposeAsync() => await _home.DisposeAsync();

    [Fact]
    public async Task Models_ListsTheBuiltinModelAsTableAndJson()
    {
        var table = await _home.Cli.RunAsync("models");
        var json = await _home.Cli.RunAsync("models", "--json");

        Assert.Equal(0, table.ExitCode);
        Assert.Contains(SeededHome.Model, table.Output);
        Assert.Contains("1024", table.Output);
        Assert.Equal(0, json.ExitCode);
        Assert.Equal(SeededHome.Model, (string?)json.Json["supported_models"]![0]!["model_name"]);
    }

    [Fact]
    public async Task RunList_ShowsTheRunAndItsLastCheckpoints()
    {
        var result = await _home.Cli.RunAsync("run", "list");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(_home.RunId, result.Output);
        Assert.Contains(_home.SamplerPath, result.Output);
        Assert.Contains("1 of 1 training run(s)", result.Output);
    }

    [Fact]
    public async Task RunList_JsonHasRunsAndCursor()
    {
        var result = await _home.Cli.RunAsync("run", "list", "--json", "--limit", "0");

        Assert.Equal(0, result.ExitCode);
        var run = Assert.Single(result.Json["training_runs"]!.AsArray());
        Assert.Equal(_home.RunId, (string?)run!["training_run_id"]);
        Assert.Equal(4, (int?)run["lora_rank"]);
        Assert.Equal(1, (int?)result.Json["cursor"]!["total_count"]);
    }

    [Fact]
    public async Task RunInfo_ByIdOrPathShowsTheRunAndItsCheckpoints()
    {
        var byId = await _home.Cli.RunAsync("run", "info", _home.RunId);
        var byPath = await _home.Cli.RunAsync("run", "info", _home.StatePath, "--json");

        Assert.Equal(0, byId.ExitCode);
        Assert.Contains(SeededHome.Model, byId.Output);
        Assert.Contains(_home.StatePath, byId.Output);
        Assert.Contains(_home.SamplerPath, byId.Output);
        Assert.Equal(0, byPath.ExitCode);
        Assert.Equal(_home.RunId, (string?)byPath.Json["training_run"]!["training_run_id"]);
        Assert.Equal(2, byPath.Json["checkpoints"]!.AsArray().Count);
    }

    [Fact]
    public async Task RunInfo_UnknownRunIsAUserErrorWithAHint()
    {
        var result = await _home.Cli.RunAsync("run", "info", "no-such-run");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("no-such-run", result.Error);
        Assert.Contains("hint: List what exists with 'tinkerflow run list'", result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task RunList_NegativeLimitIsAUserError()
    {
        var result = await _home.Cli.RunAsync("run", "list", "--limit", "-1");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("--limit must be 0 (everything) or positive", result.Error);
    }

    [Fact]
    public async Task Home_ThatIsAFileIsAUserError()
    {
        var file = Path.Combine(_home.Path, "not-a-folder");
        await File.WriteAllTextAsync(file, "x");

        var result = await _home.Cli.RunAsync("checkpoint", "list", "--home", file);

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains($"cannot use '{file}' as its data folder", result.Error);
        Assert.Contains("--home", result.Error);
    }
}
