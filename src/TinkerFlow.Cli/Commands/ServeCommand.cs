using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using TinkerFlow.Server;

namespace TinkerFlow.Cli.Commands;

/// <summary><c>tinkerflow serve</c>: runs the TinkerFlow server (the Tinker wire API over the embedded engine) until Ctrl+C.</summary>
internal static class ServeCommand
{
    public static Command Create(CliApp app, GlobalOptions options)
    {
        var command = new Command("serve", "Run a Tinker-compatible server over the embedded engine until Ctrl+C");
        var urls = new Option<string>("--urls") { Description = "Where to listen, e.g. http://127.0.0.1:8000 (several separated by ';')", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        var models = new Option<string[]>("--model") { Description = "Serve this base model too: a built-in name, a Hugging Face folder, or name=folder (repeatable)", HelpName = "model" };
        command.Add(urls);
        command.Add(models);

        // The server's own tunables (limits, batch sizes, back-pressure), one option each, passed through as given.
        var settings = ServerArguments.Settings()
            .Select(s => (s.Name, Option: new Option<string>(s.Name) { Description = string.Join(' ', s.Help.Split('\n')), HelpName = s.Value.Trim('<', '>') }))
            .ToList();
        foreach (var (_, option) in settings)
        {
            command.Add(option);
        }

        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            if (context.IsRemote)
            {
                throw new CliUserException("'serve' runs a server here; it cannot take --base-url or TINKER_BASE_URL.", "Drop --base-url (or unset TINKER_BASE_URL) and use --urls to choose where to listen.");
            }

            var args = new List<string> { "--urls", parse.GetRequiredValue(urls), "--home", context.Home };
            foreach (var model in parse.GetValue(models) ?? [])
            {
                args.Add("--model");
                args.Add(model);
            }

            foreach (var (name, option) in settings)
            {
                if (parse.GetValue(option) is { } value)
                {
                    args.Add(name);
                    args.Add(value);
                }
            }

            Microsoft.AspNetCore.Builder.WebApplication server;
            try
            {
                server = TinkerFlowServer.Build(args.ToArray());
            }
            catch (ArgumentException ex)
            {
                throw new CliUserException(ex.Message, "See 'tinkerflow serve --help'; 'tinkerflow models' lists the built-in models.");
            }

            await using (server.ConfigureAwait(false))
            {
                await server.StartAsync(cancellationToken).ConfigureAwait(false);
                var settings = server.Services.GetRequiredService<ServerOptions>();
                context.Console.WriteLine($"TinkerFlow server listening on {string.Join(", ", server.Urls)} (home {settings.HomeDirectory})");
                var keyFile = Path.Combine(settings.HomeDirectory, "server-api-key");
                context.Console.WriteLine(settings.ApiKeys is { Count: > 0 } keys
                    ? $"API keys: {keys.Count} from TINKERFLOW_API_KEYS"
                    : $"API key: {(File.Exists(keyFile) ? File.ReadAllText(keyFile).Trim() : "(generated)")} (kept in {keyFile})");
                context.Console.WriteLine($"Dashboard: {server.Urls.First().TrimEnd('/')}/ (asks for the API key)");
                context.Console.WriteLine("Press Ctrl+C to stop.");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }

                await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
