using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace TinkerFlow.Server;

/// <summary>
/// <c>dotnet run -c Release --project src/TinkerFlow.Server -- --urls http://127.0.0.1:8000 [--model &lt;name|dir&gt;] [--home &lt;dir&gt;] [limits…]</c>;
/// <c>--help</c> lists every option with its default.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (ServerArguments.WantsHelp(args))
        {
            Console.WriteLine(ServerArguments.Help());
            return 0;
        }

        WebApplication app;
        try
        {
            app = TinkerFlowServer.Build(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"tinkerflow-server: {ex.Message}");
            return 2;
        }

        await using (app)
        {
            var state = app.Services.GetRequiredService<ServerState>();
            Console.WriteLine($"TinkerFlow server: home {state.Store.Home} (metadata {state.Store.DatabasePath})");
            Console.WriteLine($"Base models: {string.Join(", ", state.ServedModels)}");
            Console.WriteLine(state.Keys.GeneratedKey is { } key
                ? $"API key (generated, kept in {Path.Combine(state.Store.Home, Auth.ApiKeyRegistry.GeneratedKeyFileName)}): {key}"
                : $"API keys: {state.Keys.Count} from TINKERFLOW_API_KEYS");
            await app.RunAsync();
        }

        return 0;
    }
}
