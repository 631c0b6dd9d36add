using System.Text.Json.Nodes;

namespace TinkerFlow.Cli.Tests;

/// <summary>What one in-process run of the command line produced.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    /// <summary>stdout parsed as JSON (fails the test when it is not).</summary>
    public JsonNode Json => JsonNode.Parse(Output) ?? throw new Xunit.Sdk.XunitException("stdout was JSON null");

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}
