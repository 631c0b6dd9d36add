using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using TinkerFlow.Server;
using TinkerFlow.Types;

namespace TinkerFlow.Cli.Tests;

/// <summary>Commands against an in-process TinkerFlow server through <c>--base-url</c>, and <c>serve</c> itself.</summary>
[Collection("Torch")]
public sealed class ServerCommandTests : IAsyncLifetime
{
    private const string Alice = "tml-alice-cli-key-0001";
    private const string Bob = "tml-bob-cli-key-0002";

    private string _serverHome = null!;
    private string _cliHome = null!;
    private WebApplication _server = null!;
    private string _url = null!;
    private string _runId = null!;
    private string _samplerPath = null!;
    private string _statePath = null!;

    public async Task InitializeAsync()
    {
        _serverHome = Directory.CreateTempSubdirectory("tinkerflow-cli-server-").FullName;
        _cliHome = Directory.CreateTempSubdirectory("tinkerflow-cli-client-").FullName;
        _server = TinkerFlowServer.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--home", _serverHome],
            o =>
            {
                o.ApiKeys = [Alice, Bob];
                o.PreloadModels = false;
            });
        await _server.StartAsync();
        _url = _server.Urls.First();

        var options = new TinkerClientOptions { BaseUrl = new Uri(_url), ApiKey = Alice };
        await using var service = new ServiceClient(options);
        var client = await service.CreateLoraTrainingClientAsync(SeededHome.Model, rank: 4, seed: 7);
        var datum = Datum.Create(
            ModelInput.FromInts([5, 6, 7, 8, 9]),
            new Dictionary<string, object> { ["target_tokens"] = new[] { 6, 7, 8, 9, 10 }, ["weights"] = new[] { 1f, 1f, 1f, 1f, 1f } });
        await client.ForwardBackwardAsync(WaitUntil.Completed, [datum], LossFnType.CrossEntropy);
        await client.OptimStepAsync(WaitUntil.Completed, new AdamParams { LearningRate = 0.02 });
        _runId = client.ModelId;
        _statePath = (await client.SaveStateAsync(WaitUntil.Completed, "w1")).Value.Path;
        _samplerPath = (await client.SaveWeightsForSamplerAsync(WaitUntil.Completed, "s1")).Value.Path!;
    }

    public async Task DisposeAsync()
    {
        await _server.StopAsync();
        await _server.DisposeAsync();
        foreach (var dir in new[] { _serverHome, _cliHome })
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public async Task ModelsRunsAndCheckpoints_ComeFromTheServer()
    {
        var models = await RunAsync(Alice, "models", "--json");
        var runs = await RunAsync(Alice, "run", "list", "--json");
        var checkpoints = await RunAsync(Alice, "checkpoint", "list", "--limit", "0", "--page-size", "1", "--json");
        var info = await RunAsync(Alice, "checkpoint", "info", _statePath);

        Assert.Equal(0, models.ExitCode);
        Assert.Contains(SeededHome.Model, models.Json["supported_models"]!.AsArray().Select(m => (string?)m!["model_name"]));
        Assert.Equal(_runId, (string?)runs.Json["training_runs"]![0]!["training_run_id"]);
        Assert.Equal(
            new[] { _samplerPath, _statePath }.Order(),
            checkpoints.Json["checkpoints"]!.AsArray().Select(c => (string)c!["tinker_path"]!).Order());
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("rank 4", info.Output);
    }

    [Fact]
    public async Task BaseUrlAndApiKey_CanComeFromTheEnvironment()
    {
        var cli = new CliHarness(_cliHome);
        cli.Environment["TINKER_BASE_URL"] = _url;
        cli.Environment["TINKER_API_KEY"] = Alice;

        var result = await cli.RunAsync("checkpoint", "list", "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(2, result.Json["checkpoints"]!.AsArray().Count);
    }

    [Fact]
    public async Task OtherUsersCheckpoint_IsAUserError()
    {
        var info = await RunAsync(Bob, "checkpoint", "info", _statePath);
        var delete = await RunAsync(Bob, "checkpoint", "delete", _statePath, "--yes");
        var still = await RunAsync(Alice, "checkpoint", "info", _statePath, "--json");

        Assert.Equal(ExitCodes.UserError, info.ExitCode);
        Assert.StartsWith("error: ", info.Error);
        Assert.Contains("hint: ", info.Error);
        Assert.Equal(ExitCodes.UserError, delete.ExitCode);
        Assert.Equal(0, still.ExitCode);
    }

    [Fact]
    public async Task WrongApiKey_IsAUserErrorThatNamesTheKeyOption()
    {
        var result = await RunAsync("tml-not-a-known-key-0003", "checkpoint", "list");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("--api-key", result.Error);
    }

    [Fact]
    public async Task Download_FetchesTheSignedArchiveAndUnpacksIt()
    {
        var target = Path.Combine(_cliHome, "download");
        var result = await RunAsync(Alice, "checkpoint", "download", _statePath, "-o", target);

        Assert.Equal(0, result.ExitCode);
        Assert.True(File.Exists(Path.Combine(target, "adapter_model.safetensors")), result.ToString());
        Assert.True(File.Exists(Path.Combine(target, "optimizer.safetensors")));
    }

    [Fact]
    public async Task ExportPeft_FromAServerKeepsTheAdapterFiles()
    {
        var target = Path.Combine(_cliHome, "peft");
        var result = await RunAsync(Alice, "export", "--path", _samplerPath, "--peft", target, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["adapter_config.json", "adapter_model.safetensors"], Directory.GetFiles(target).Select(Path.GetFileName).Order());
        Assert.Equal(4, (int?)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(target, "adapter_config.json")))!["r"]);
    }

    [Fact]
    public async Task ExportMerged_FromAServerExplainsThatItNeedsTheLocalEngine()
    {
        var result = await RunAsync(Alice, "export", "--path", _samplerPath, "--merged", Path.Combine(_cliHome, "merged"));

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("needs the embedded engine", result.Error);
        Assert.Contains("base model registered", result.Error);
    }

    [Fact]
    public async Task Sample_ThroughTheServerUsesTheLocalTokenizer()
    {
        var result = await RunAsync(Alice, "sample", "--model-path", _samplerPath, "--prompt", "the cat", "--max-tokens", "4", "--seed", "1", "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(4, result.Json["samples"]![0]!["tokens"]!.AsArray().Count);
    }

    [Fact]
    public async Task Delete_ThroughTheServer()
    {
        var result = await RunAsync(Alice, "checkpoint", "delete", _samplerPath, "--yes");
        var list = await RunAsync(Alice, "checkpoint", "list", "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal([_statePath], list.Json["checkpoints"]!.AsArray().Select(c => (string?)c!["tinker_path"]));
    }

    [Fact]
    public async Task Serve_ListensUntilCancelledAndAnswersCommands()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var home = Path.Combine(_cliHome, "served");
        var url = $"http://127.0.0.1:{port}";
        var cli = new CliHarness(home);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var serving = cli.RunAsync(["serve", "--urls", url, "--model", SeededHome.Model], input: null, stop.Token);

        var keyFile = Path.Combine(home, "server-api-key");
        CliResult? models = null;
        for (var attempt = 0; attempt < 200 && !serving.IsCompleted; attempt++)
        {
            if (File.Exists(keyFile))
            {
                models = await new CliHarness(_cliHome).RunAsync("models", "--json", "--base-url", url, "--api-key", (await File.ReadAllTextAsync(keyFile)).Trim());
                if (models.ExitCode == 0)
                {
                    break;
                }
            }

            await Task.Delay(100);
        }

        await stop.CancelAsync();
        var served = await serving;

        Assert.Equal(0, served.ExitCode);
        Assert.Contains($"listening on {url}", served.Output);
        Assert.NotNull(models);
        Assert.Equal(0, models!.ExitCode);
        Assert.Contains(SeededHome.Model, models.Output);
    }

    private Task<CliResult> RunAsync(string key, params string[] args) =>
        new CliHarness(_cliHome).RunAsync([.. args, "--base-url", _url, "--api-key", key]);
}
