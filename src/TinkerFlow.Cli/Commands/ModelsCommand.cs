using System.CommandLine;
using Spectre.Console;

namespace TinkerFlow.Cli.Commands;

/// <summary><c>tinkerflow models</c>: the base models the backend offers.</summary>
internal static class ModelsCommand
{
    public static Command Create(CliApp app, GlobalOptions options)
    {
        var command = new Command("models", "List the base models the backend can train and sample");
        app.SetAction(command, options, async (context, _, cancellationToken) =>
        {
            var capabilities = await context.Service.GetServerCapabilitiesAsync(cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(CliContext.ToNode(capabilities));
                return ExitCodes.Success;
            }

            var table = new Table().Title($"Base models of {Markup.Escape(context.BackendDescription)}");
            table.AddColumn("Model");
            table.AddColumn(new TableColumn("Max context").RightAligned());
            foreach (var model in capabilities.SupportedModels)
            {
                table.AddRow(new Text(model.ModelName ?? "?"), new Text(model.MaxContextLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"));
            }

            context.Console.Write(table);
            return ExitCodes.Success;
        });
        return command;
    }
}
