using System.Text.Json.Nodes;

namespace TinkerFlow.Cli.Tests;

/// <summary><c>checkpoint list|info|publish|unpublish|set-ttl|delete</c> on the embedded engine.</summary>
[Collection("Torch")]
public sealed class CheckpointCommandTests : IAsyncLifetime
{
    private SeededHome _home = null!;

    public async Task InitializeAsync() => _home = await SeededHome.CreateAsync(extraSamplerCheckpoints: 3);

    public async Task DisposeAsync() => await _home.DisposeAsync();

    [Fact]
    public async Task List_LimitZeroFetchesEveryPage()
    {
        var json = await _home.Cli.RunAsync("checkpoint", "list", "--limit", "0", "--page-size", "2", "--json");
        var table = await _home.Cli.RunAsync("checkpoint", "list", "--limit", "0", "--page-size", "2");

        Assert.Equal(0, json.ExitCode);
        var paths = json.Json["checkpoints"]!.AsArray().Select(c => (string?)c!["tinker_path"]).ToList();
        Assert.Equal(5, paths.Count);
        Assert.Equal(5, paths.Distinct().Count());
        Assert.Contains(_home.StatePath, paths);
        Assert.Equal(5, (int?)json.Json["cursor"]!["total_count"]);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("5 of 5 checkpoint(s)", table.Output);
        Assert.Contains($"tinker://{_home.RunId}/sampler_weights/extra-2", table.Output);
    }

    [Fact]
    public async Task List_LimitAndOffsetSelectAWindow()
    {
        var all = await _home.Cli.RunAsync("checkpoint", "list", "--limit", "0", "--json");
        var window = await _home.Cli.RunAsync("checkpoint", "list", "--limit", "2", "--offset", "1", "--page-size", "1", "--json");

        var expected = all.Json["checkpoints"]!.AsArray().Skip(1).Take(2).Select(c => (string?)c!["tinker_path"]);
        Assert.Equal(expected, window.Json["checkpoints"]!.AsArray().Select(c => (string?)c!["tinker_path"]));
    }

    [Fact]
    public async Task List_ByRun()
    {
        var result = await _home.Cli.RunAsync("checkpoint", "list", "--run", _home.RunId, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(5, result.Json["checkpoints"]!.AsArray().Count);
    }

    [Fact]
    public async Task Info_ShowsSizeAndLoraSettings()
    {
        var table = await _home.Cli.RunAsync("checkpoint", "info", _home.StatePath);
        var json = await _home.Cli.RunAsync("checkpoint", "info", _home.StatePath, "--json");

        Assert.Equal(0, table.ExitCode);
        Assert.Contains("training (weights + optimizer state)", table.Output);
        Assert.Contains("rank 4", table.Output);
        Assert.Equal("weights/step-3", (string?)json.Json["checkpoint"]!["checkpoint_id"]);
        Assert.True((long?)json.Json["checkpoint"]!["size_bytes"] > 0);
        Assert.Equal(SeededHome.Model, (string?)json.Json["weights_info"]!["base_model"]);
        Assert.Equal(4, (int?)json.Json["weights_info"]!["lora_rank"]);
    }

    [Theory]
    [InlineData("tinker://just-a-run")]
    [InlineData("not-a-path")]
    [InlineData("tinker://run/checkpoints/x")]
    public async Task Info_MalformedPathIsAUserErrorThatShowsTheValidForms(string path)
    {
        var result = await _home.Cli.RunAsync("checkpoint", "info", path);

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains($"error: Invalid tinker path '{path}'", result.Error);
        Assert.Contains("tinker://<training_run_id>/weights/<name>", result.Error);
        Assert.Contains("hint:", result.Error);
    }

    [Fact]
    public async Task Info_MissingCheckpointIsAUserError()
    {
        var result = await _home.Cli.RunAsync("checkpoint", "info", $"tinker://{_home.RunId}/weights/nope");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("There is no checkpoint 'weights/nope'", result.Error);
        Assert.Contains($"tinkerflow checkpoint list --run {_home.RunId}", result.Error);
    }

    [Fact]
    public async Task PublishAndUnpublish_ChangeVisibilityAndRepeatingIsAUserError()
    {
        var published = await _home.Cli.RunAsync("checkpoint", "publish", _home.StatePath);
        var again = await _home.Cli.RunAsync("checkpoint", "publish", _home.StatePath);
        var afterPublish = await _home.Cli.RunAsync("checkpoint", "info", _home.StatePath, "--json");
        var unpublished = await _home.Cli.RunAsync("checkpoint", "unpublish", _home.StatePath, "--json");
        var afterUnpublish = await _home.Cli.RunAsync("checkpoint", "info", _home.StatePath, "--json");

        Assert.Equal(0, published.ExitCode);
        Assert.Contains($"Published {_home.StatePath}", published.Output);
        Assert.Equal(ExitCodes.UserError, again.ExitCode);
        Assert.StartsWith("error: ", again.Error);
        Assert.True((bool?)afterPublish.Json["checkpoint"]!["public"]);
        Assert.Equal(0, unpublished.ExitCode);
        Assert.Equal(_home.StatePath, (string?)unpublished.Json["unpublished"]![0]);
        Assert.False((bool?)afterUnpublish.Json["checkpoint"]!["public"]);
    }

    [Fact]
    public async Task SetTtl_SetsAndRemovesTheExpiry()
    {
        var set = await _home.Cli.RunAsync("checkpoint", "set-ttl", _home.StatePath, _home.SamplerPath, "--ttl", "2h");
        var withTtl = await _home.Cli.RunAsync("checkpoint", "info", _home.SamplerPath, "--json");
        var removed = await _home.Cli.RunAsync("checkpoint", "set-ttl", _home.SamplerPath, "--ttl", "none", "--json");
        var withoutTtl = await _home.Cli.RunAsync("checkpoint", "info", _home.SamplerPath, "--json");

        Assert.Equal(0, set.ExitCode);
        Assert.Contains("now expires in 2h 0m", set.Output);
        var expires = DateTimeOffset.Parse((string)withTtl.Json["checkpoint"]!["expires_at"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(110), TimeSpan.FromMinutes(121));
        Assert.Equal(0, removed.ExitCode);
        Assert.Null(removed.Json["ttl_seconds"]);
        Assert.Null(withoutTtl.Json["checkpoint"]!["expires_at"]);
    }

    [Theory]
    [InlineData("0", "must be positive")]
    [InlineData("-5", "must be positive")]
    [InlineData("=-5", "must be positive")]
    [InlineData("soon", "is not a TTL")]
    [InlineData("5w", "is not a TTL")]
    public async Task SetTtl_BadValueIsAUserErrorAndChangesNothing(string ttl, string message)
    {
        string[] args = ttl.StartsWith('=')
            ? ["checkpoint", "set-ttl", _home.StatePath, "--ttl" + ttl]
            : ["checkpoint", "set-ttl", _home.StatePath, "--ttl", ttl];
        var result = await _home.Cli.RunAsync(args);
        var info = await _home.Cli.RunAsync("checkpoint", "info", _home.StatePath, "--json");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains(message, result.Error);
        Assert.Contains("hint: Give a positive number of seconds", result.Error);
        Assert.Null(info.Json["checkpoint"]!["expires_at"]);
    }

    [Fact]
    public async Task Delete_AnsweringNoKeepsEverythingAndAsksOnce()
    {
        var extra0 = $"tinker://{_home.RunId}/sampler_weights/extra-0";
        var result = await _home.Cli.RunAsync(["checkpoint", "delete", extra0, _home.SamplerPath], input: "n\n");

        Assert.Equal(0, result.ExitCode);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(result.Output, @"\[y/N\]"));
        Assert.Contains("Delete these 2 checkpoints?", result.Output);
        Assert.Contains("Nothing deleted.", result.Output);
        Assert.Equal(5, await CountAsync());
    }

    [Fact]
    public async Task Delete_AnsweringYesOnAnInteractiveConsoleDeletes()
    {
        var extra0 = $"tinker://{_home.RunId}/sampler_weights/extra-0";
        var result = await _home.Cli.RunInteractiveAsync("y", "checkpoint", "delete", extra0);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"Deleted {extra0}", result.Output);
        Assert.Equal(4, await CountAsync());
    }

    [Fact]
    public async Task Delete_YesSkipsTheQuestion()
    {
        var paths = Enumerable.Range(0, 3).Select(i => $"tinker://{_home.RunId}/sampler_weights/extra-{i}").ToArray();
        var result = await _home.Cli.RunAsync(["checkpoint", "delete", .. paths, "--yes", "--json"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(paths, result.Json["deleted"]!.AsArray().Select(p => (string?)p));
        Assert.Equal(2, await CountAsync());
    }

    [Fact]
    public async Task Delete_WithoutInputOrYesRefusesAndNamesYes()
    {
        var result = await _home.Cli.RunAsync("checkpoint", "delete", _home.SamplerPath);

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("Pass --yes", result.Error);
        Assert.Equal(5, await CountAsync());
    }

    [Fact]
    public async Task Delete_MalformedPathFailsBeforeDeletingAnything()
    {
        var result = await _home.Cli.RunAsync("checkpoint", "delete", _home.SamplerPath, "tinker://bad", "--yes");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("Invalid tinker path 'tinker://bad'", result.Error);
        Assert.Equal(5, await CountAsync());
    }

    private async Task<int> CountAsync()
    {
        var list = await _home.Cli.RunAsync("checkpoint", "list", "--limit", "0", "--json");
        Assert.Equal(0, list.ExitCode);
        return list.Json["checkpoints"]!.AsArray().Count;
    }
}
