using TinkerFlow.Types;

namespace TinkerFlow.Cli.Tests;

/// <summary>Parsing, exit codes and messages that need no engine.</summary>
public sealed class CommandLineTests
{
    private readonly CliHarness _cli = new(Path.Combine(Path.GetTempPath(), "tinkerflow-cli-unused-home"));

    [Fact]
    public async Task UnknownCommand_IsAUserErrorWithAHint()
    {
        var result = await _cli.RunAsync("frobnicate");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("error: Unrecognized command or argument 'frobnicate'", result.Error);
        Assert.Contains("hint: see 'tinkerflow --help'", result.Error);
    }

    [Fact]
    public async Task MissingRequiredOption_NamesTheSubcommandsHelp()
    {
        var result = await _cli.RunAsync("checkpoint", "set-ttl", "tinker://r/weights/x");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("--ttl", result.Error);
        Assert.Contains("tinkerflow checkpoint set-ttl --help", result.Error);
    }

    [Fact]
    public async Task Help_ListsEveryCommandUnderTheToolsName()
    {
        var result = await _cli.RunAsync("--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("tinkerflow [command] [options]", result.Output);
        foreach (var command in new[] { "serve", "models", "run", "checkpoint", "sample", "export" })
        {
            Assert.Contains(command, result.Output);
        }
    }

    [Fact]
    public async Task ServeHelp_OffersEveryTunableOfTheServer()
    {
        var result = await _cli.RunAsync("serve", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.NotEmpty(TinkerFlow.Server.ServerArguments.Settings());
        foreach (var setting in TinkerFlow.Server.ServerArguments.Settings())
        {
            Assert.Contains(setting.Name, result.Output);
        }
    }

    [Fact]
    public async Task Serve_PassesServerLimitsThroughAndABadOneIsAUserError()
    {
        var result = await _cli.RunAsync("serve", "--urls", "http://127.0.0.1:0", "--max-waiting-samples", "0");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("--max-waiting-samples takes a positive whole number", result.Error);
    }

    [Theory]
    [InlineData("ftp://example.com")]
    [InlineData("not a url")]
    public async Task BaseUrl_ThatIsNotHttpIsAUserError(string url)
    {
        var result = await _cli.RunAsync("models", "--base-url", url);

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("is not an http(s) URL", result.Error);
    }

    [Fact]
    public async Task BaseUrl_FromTheEnvironmentIsUsed()
    {
        var cli = new CliHarness(_cli.Home);
        cli.Environment["TINKER_BASE_URL"] = "gopher://nowhere";

        var result = await cli.RunAsync("models");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("'gopher://nowhere' is not an http(s) URL", result.Error);
    }

    [Fact]
    public async Task UnreachableServer_IsAUserErrorThatNamesTheUrl()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await _cli.RunAsync("checkpoint", "list", "--base-url", $"http://127.0.0.1:{port}", "--api-key", "tml-unreachable");

        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("hint: Check --base-url / TINKER_BASE_URL", result.Error);
    }

    [Theory]
    [InlineData("3600", 3600L)]
    [InlineData("90s", 90L)]
    [InlineData("30m", 1800L)]
    [InlineData("12h", 43_200L)]
    [InlineData("7D", 604_800L)]
    [InlineData("none", null)]
    public void TtlParser_AcceptsSecondsDurationsAndNone(string text, long? seconds) => Assert.Equal(seconds, TtlParser.Parse(text));

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("-1h")]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("99999999999999999d")]
    public void TtlParser_RejectsNonPositiveAndMalformed(string text) => Assert.Throws<CliUserException>(() => TtlParser.Parse(text));

    [Fact]
    public void Classify_MapsUserServerAndUnexpectedFailures()
    {
        Assert.Equal(ExitCodes.UserError, CliApp.Classify(TinkerRequestException.User("bad")).Code);
        Assert.Equal(ExitCodes.UserError, CliApp.Classify(new TinkerRequestException("forbidden", status: 403)).Code);
        Assert.Equal(ExitCodes.UnexpectedError, CliApp.Classify(new TinkerRequestException("boom", RequestErrorCategory.Server, 500)).Code);
        Assert.Equal(ExitCodes.UnexpectedError, CliApp.Classify(new InvalidOperationException("bug")).Code);
        Assert.Equal(ExitCodes.Interrupted, CliApp.Classify(new OperationCanceledException()).Code);
        Assert.Contains("another user", CliApp.Classify(new TinkerRequestException("forbidden", status: 403)).Hint);
    }
}
