using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using TinkerFlow.Cli.Downloads;

namespace TinkerFlow.Cli.Commands;

/// <summary><c>tinkerflow checkpoint download PATH [-o DIR]</c>: the checkpoint's files in a folder.</summary>
internal static class CheckpointDownloadCommand
{
    public static Command Create(CliApp app, GlobalOptions options)
    {
        var command = new Command("download", "Download a checkpoint's archive (resumable, with progress) and unpack it into a folder");
        var pathArgument = new Argument<string>("path") { Description = "The checkpoint's tinker:// path" };
        var output = new Option<string?>("--output", "-o") { Description = "Folder to unpack into (default: ./<run>-<kind>-<name>)", HelpName = "dir" };
        var force = new Option<bool>("--force") { Description = "Unpack into a folder that already has files, replacing those of the same name" };
        var keepArchive = new Option<bool>("--keep-archive") { Description = "Keep the downloaded <dir>.tar.gz next to the folder" };
        command.Add(pathArgument);
        command.Add(output);
        command.Add(force);
        command.Add(keepArchive);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var path = CliContext.ParsePath(parse.GetRequiredValue(pathArgument));
            var directory = Path.GetFullPath(parse.GetValue(output) ?? $"{path.TrainingRunId}-{path.CheckpointId.Replace('/', '-')}");
            EnsureUsable(directory, parse.GetValue(force));
            var files = await CheckpointDownload.RunAsync(context, path, directory, parse.GetValue(keepArchive), cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["tinker_path"] = path.TinkerPath,
                    ["directory"] = directory,
                    ["files"] = new JsonArray(files.Select(f => (JsonNode)f).ToArray()),
                });
            }
            else
            {
                context.Console.WriteLine($"Unpacked {files.Count} file(s) of {path.TinkerPath} into {directory}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Refuses a target folder that already holds files, unless <paramref name="force"/>.</summary>
    internal static void EnsureUsable(string directory, bool force)
    {
        if (File.Exists(directory))
        {
            throw new CliUserException($"'{directory}' is a file, not a folder.", "Choose another --output folder.");
        }

        if (!force && Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new CliUserException($"The folder '{directory}' is not empty.", "Choose another --output folder, or pass --force to replace files of the same name in it.");
        }
    }
}
