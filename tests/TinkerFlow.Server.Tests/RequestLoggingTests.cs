using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TinkerFlow.Server.Tests;

public sealed class RequestLoggingTests
{
    private const string HostingCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    [Fact]
    public async Task AspNetCoreRequestLogs_DefaultToWarning()
    {
        await using var app = TinkerFlowServer.Build(["--urls", "http://127.0.0.1:0"], o => { o.ApiKeys = ["tml-log-test-key-1"]; o.PreloadModels = false; });
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(HostingCategory);
        Assert.False(logger.IsEnabled(LogLevel.Information));
        Assert.True(logger.IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public async Task RequestLogLevelArgument_RaisesThemToInformation()
    {
        await using var app = TinkerFlowServer.Build(["--urls", "http://127.0.0.1:0", "--request-log-level", "information"], o => { o.ApiKeys = ["tml-log-test-key-1"]; o.PreloadModels = false; });
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(HostingCategory);
        Assert.True(logger.IsEnabled(LogLevel.Information));
    }

    [Fact]
    public void RequestLogLevel_UnknownNameIsAClearError()
    {
        var error = Assert.Throws<ArgumentException>(() => ServerOptions.ParseLogLevel("loud", "--request-log-level"));
        Assert.Contains("Information", error.Message, StringComparison.Ordinal);
        Assert.Equal(LogLevel.Warning, ServerOptions.ParseLogLevel(null, "TINKERFLOW_REQUEST_LOG_LEVEL"));
    }
}
