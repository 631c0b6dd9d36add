using System.Text.Json.Nodes;
using TinkerFlow.Server;

namespace TinkerFlow.Cli.Tests;

/// <summary><c>tinkerflow bench</c> on the embedded engine and on an in-process server, at tiny sizes.</summary>
[Collection("Torch")]
public sealed class BenchCommandTests : IDisposable
{
    private const string Key = "tml-bench-cli-key-0001";

    private static readonly string[] TinyBench =
        ["bench", "--batch", "1", "--seq-len", "8", "--rank", "2", "--steps", "2", "--min-repeats", "1", "--max-repeats", "2", "--concurrency", "2", "--sample-tokens", "2", "--json"];

    private readonly string _home = Directory.CreateTempSubdirectory("tinkerflow-cli-bench-").FullName;
    private readonly string _serverHome = Directory.CreateTempSubdirectory("tinkerflow-cli-bench-server-").FullName;

    [Fact]
    public async Task Bench_OnTheEmbeddedEngine_ReportsThroughputsOperationTimingsAndAChart()
    {
        var png = Path.Combine(_home, "bench.png");
        var result = await new CliHarness(_home).RunAsync([.. TinyBench, "--png", png]);

        Assert.True(result.ExitCode == 0, result.ToString());
        AssertReport(result.Json, result);
        Assert.StartsWith("the embedded engine", (string?)result.Json["backend"], StringComparison.Ordinal);
        var bytes = await File.ReadAllBytesAsync(png);
        Assert.True(bytes.Length > 1000 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G', "not a PNG");
    }

    [Fact]
    public async Task Bench_AgainstAnInProcessServer_MeasuresThroughTheWire()
    {
        var server = TinkerFlowServer.Build(
            ["--urls", "http://127.0.0.1:0", "--home", _serverHome],
            o =>
            {
                o.ApiKeys = [Key];
                o.PreloadModels = false;
            });
        await server.StartAsync();
        try
        {
            var result = await new CliHarness(_home).RunAsync([.. TinyBench, "--base-url", server.Urls.First(), "--api-key", Key]);

            Assert.True(result.ExitCode == 0, result.ToString());
            AssertReport(result.Json, result);
            Assert.StartsWith("the server at", (string?)result.Json["backend"], StringComparison.Ordinal);
        }
        finally
        {
            await server.StopAsync();
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Bench_WithOneStep_IsAUserError()
    {
        var result = await new CliHarness(_home).RunAsync("bench", "--steps", "1");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("--steps must be at least 2", result.Error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var dir in new[] { _home, _serverHome })
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

    private static void AssertReport(JsonNode json, CliResult result)
    {
        var training = json["training"]!.AsArray();
        Assert.Equal(["sequential", "submit-ahead 0", "submit-ahead 1", "submit-ahead 2"], training.Select(r => (string?)r!["name"]));
        Assert.All(training, r => Assert.True((double)r!["tokens_per_second"]! > 0, result.ToString()));
        Assert.All(training, r => Assert.InRange(r!["samples"]!.AsArray().Count, 1, 2));
        var sampling = json["sampling"]!.AsArray();
        Assert.Equal(["1 request at a time", "2 concurrent"], sampling.Select(r => (string?)r!["name"]));
        Assert.All(sampling, r => Assert.True((double)r!["tokens_per_second"]! > 0, result.ToString()));

        // Round trip and queue wait per operation, from the spans (the engine runs in this process in both cases).
        var operations = json["operations"]!.AsArray().ToDictionary(o => (string)o!["operation"]!, o => o!);
        foreach (var name in new[] { "forward_backward", "optim_step", "sample" })
        {
            Assert.True(operations.TryGetValue(name, out var op), result.ToString());
            Assert.True((int)op["count"]! >= 2);
            Assert.True((double)op["round_trip_seconds"]! > 0);
            Assert.True((double?)op["queue_wait_seconds"] >= 0, result.ToString());
            Assert.True((double?)op["engine_seconds"] > 0, result.ToString());
        }
    }
}
