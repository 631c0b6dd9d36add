using System.Reflection;
using System.Text.Json;

namespace TinkerFlow.Recipes.Tests;

/// <summary>
/// Runs a recipe's entry point in-process, exactly as `dotnet run --project recipes/X -- args` would, with its own
/// log path, and reads back what it wrote.
/// </summary>
internal static class RecipeRunner
{
    static RecipeRunner()
    {
        // The embedded engine's data (runs, checkpoints) for the whole test process: a throw-away folder.
        Environment.SetEnvironmentVariable("TINKERFLOW_HOME", Directory.CreateTempSubdirectory("tinkerflow-recipes-").FullName);
        Environment.SetEnvironmentVariable("TINKER_BASE_URL", null);
    }

    /// <summary>A fresh log folder.</summary>
    public static string NewLogPath(string recipe) => Directory.CreateTempSubdirectory($"tinkerflow-{recipe}-").FullName;

    /// <summary>Invokes the entry point of a recipe assembly (its project name, e.g. "SlLoop"; the test project references it).</summary>
    public static async Task RunAsync(string recipe, params string[] args)
    {
        var entry = Assembly.Load(recipe).EntryPoint ?? throw new InvalidOperationException($"{recipe} is not a program assembly.");
        var parameters = entry.GetParameters().Length == 0 ? null : new object[] { args };
        try
        {
            var result = entry.Invoke(null, parameters);
            if (result is Task task)
            {
                await task;
            }

            if (result is Task<int> code && code.Result != 0)
            {
                throw new InvalidOperationException($"The recipe exited with code {code.Result}.");
            }
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }

    /// <summary>The rows of metrics.jsonl, in order.</summary>
    public static List<Dictionary<string, double>> ReadMetrics(string logPath) =>
        File.ReadLines(Path.Combine(logPath, "metrics.jsonl"))
            .Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!
                .Where(kv => kv.Value.ValueKind == JsonValueKind.Number)
                .ToDictionary(kv => kv.Key, kv => kv.Value.GetDouble()))
            .ToList();

    /// <summary>The values of one metric over the rows that have it.</summary>
    public static List<double> Series(IEnumerable<Dictionary<string, double>> rows, string name) =>
        rows.Where(r => r.ContainsKey(name)).Select(r => r[name]).ToList();
}
