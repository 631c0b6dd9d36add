namespace TinkerFlow.Cli.Tests;

/// <summary><c>sample</c> on the embedded engine.</summary>
[Collection("Torch")]
public sealed class SampleCommandTests : IAsyncLifetime
{
    private SeededHome _home = null!;

    public async Task InitializeAsync() => _home = await SeededHome.CreateAsync();

    public async Task DisposeAsync() => await _home.DisposeAsync();

    [Fact]
    public async Task Sample_FromSamplerWeightsIsSeededAndDecoded()
    {
        string[] args = ["sample", "--model-path", _home.SamplerPath, "--prompt", "the cat", "--max-tokens", "5", "--num-samples", "2", "--seed", "3", "--json"];
        var first = await _home.Cli.RunAsync(args);
        var second = await _home.Cli.RunAsync(args);

        Assert.Equal(0, first.ExitCode);
        var samples = first.Json["samples"]!.AsArray();
        Assert.Equal(2, samples.Count);
        Assert.All(samples, s => Assert.Equal(5, s!["tokens"]!.AsArray().Count));
        Assert.All(samples, s => Assert.NotNull((string?)s!["text"]));
        Assert.Equal("length", (string?)samples[0]!["stop_reason"]);
        Assert.NotEmpty(first.Json["prompt_tokens"]!.AsArray());
        Assert.Equal(first.Json["samples"]!.ToJsonString(), second.Json["samples"]!.ToJsonString());
    }

    [Fact]
    public async Task Sample_BaseModelPrintsPanels()
    {
        var result = await _home.Cli.RunAsync("sample", "--base-model", SeededHome.Model, "--prompt", "hello", "--max-tokens", "3", "--temperature", "0");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("sample 1 (3 tokens, stopped: length)", result.Output);
    }

    [Theory]
    [InlineData(new[] { "--prompt", "x" }, "Say what to sample")]
    [InlineData(new[] { "--prompt", "x", "--base-model", SeededHome.Model, "--model-path", "tinker://r/sampler_weights/s" }, "not both")]
    [InlineData(new[] { "--prompt", "x", "--model-path", "tinker:/r/s" }, "Invalid tinker path")]
    [InlineData(new[] { "--prompt", "x", "--base-model", SeededHome.Model, "--max-tokens", "0" }, "--max-tokens must be at least 1")]
    [InlineData(new[] { "--prompt", "x", "--base-model", SeededHome.Model, "--temperature", "-1" }, "--temperature must be 0 or more")]
    [InlineData(new[] { "--prompt", "x", "--base-model", SeededHome.Model, "--num-samples", "0" }, "--num-samples must be at least 1")]
    [InlineData(new[] { "--base-model", SeededHome.Model }, "--prompt")]
    public async Task Sample_BadArgumentsAreUserErrors(string[] args, string message)
    {
        var result = await _home.Cli.RunAsync(["sample", .. args]);

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains(message, result.Error);
    }

    [Fact]
    public async Task Sample_UnknownBaseModelIsAUserErrorThatListsTheModels()
    {
        var result = await _home.Cli.RunAsync("sample", "--base-model", "no/such-model", "--prompt", "x");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("no/such-model", result.Error);
        Assert.Contains(SeededHome.Model, result.Error);
    }

    [Fact]
    public async Task Sample_DeletedCheckpointIsAUserError()
    {
        var path = $"tinker://{_home.RunId}/sampler_weights/gone";
        var result = await _home.Cli.RunAsync("sample", "--model-path", path, "--prompt", "x");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("gone", result.Error);
    }
}
