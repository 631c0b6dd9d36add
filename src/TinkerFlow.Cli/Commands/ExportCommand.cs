using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using TinkerFlow.Cli.Downloads;

namespace TinkerFlow.Cli.Commands;

/// <summary><c>tinkerflow export --path P --peft DIR | --merged DIR</c>: a checkpoint as a PEFT adapter or a merged
/// Hugging Face model.</summary>
internal static class ExportCommand
{
    /// <summary>The files of a PEFT adapter folder.</summary>
    public static readonly string[] PeftFiles = ["adapter_model.safetensors", "adapter_config.json"];

    public static Command Create(CliApp app, GlobalOptions options)
    {
        var command = new Command("export", "Export a checkpoint as a PEFT adapter folder, or merged into its base model as a Hugging Face model folder");
        var path = new Option<string>("--path") { Description = "The checkpoint's tinker:// path", Required = true, HelpName = "tinker-path" };
        var peft = new Option<string?>("--peft") { Description = "Write adapter_model.safetensors + adapter_config.json into this folder", HelpName = "dir" };
        var merged = new Option<string?>("--merged") { Description = "Write config.json, model.safetensors and tokenizer files into this folder (embedded engine only)", HelpName = "dir" };
        var force = new Option<bool>("--force") { Description = "Write into a folder that already has files, replacing those of the same name" };
        command.Add(path);
        command.Add(peft);
        command.Add(merged);
        command.Add(force);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var parsed = CliContext.ParsePath(parse.GetRequiredValue(path));
            var peftDir = parse.GetValue(peft);
            var mergedDir = parse.GetValue(merged);
            if ((peftDir is null) == (mergedDir is null))
            {
                throw new CliUserException(
                    peftDir is null ? "Say what to export: --peft DIR or --merged DIR." : "Pass either --peft or --merged, not both.",
                    "--peft writes the LoRA adapter (for PEFT, vLLM or TinkerFlow); --merged writes a full model with the adapter folded in.");
            }

            var directory = Path.GetFullPath((peftDir ?? mergedDir)!);
            CheckpointDownloadCommand.EnsureUsable(directory, parse.GetValue(force));
            IReadOnlyList<string> files;
            if (mergedDir is not null)
            {
                var engine = context.RequireEngine("A merged export");
                await engine.ExportMergedAsync(parsed.TinkerPath, directory, cancellationToken).ConfigureAwait(false);
                files = Directory.EnumerateFiles(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
            }
            else if (!context.IsRemote)
            {
                var engine = context.RequireEngine("A PEFT export");
                await engine.ExportPeftAsync(parsed.TinkerPath, directory, cancellationToken).ConfigureAwait(false);
                files = PeftFiles;
            }
            else
            {
                files = await ExportPeftFromServerAsync(context, parsed, directory, cancellationToken).ConfigureAwait(false);
            }

            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["tinker_path"] = parsed.TinkerPath,
                    ["format"] = mergedDir is null ? "peft" : "merged",
                    ["directory"] = directory,
                    ["files"] = new JsonArray(files.Select(f => (JsonNode)f).ToArray()),
                });
            }
            else
            {
                context.Console.WriteLine($"Exported {parsed.TinkerPath} ({(mergedDir is null ? "PEFT adapter" : "merged model")}) to {directory}: {string.Join(", ", files)}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Downloads the checkpoint's archive and keeps the PEFT files of it.</summary>
    private static async Task<IReadOnlyList<string>> ExportPeftFromServerAsync(CliContext context, TinkerFlow.Types.ParsedCheckpointTinkerPath path, string directory, CancellationToken cancellationToken)
    {
        var staging = Directory.CreateTempSubdirectory("tinkerflow-export-").FullName;
        try
        {
            var unpacked = Path.Combine(staging, "checkpoint");
            await CheckpointDownload.RunAsync(context, path, unpacked, keepArchive: false, cancellationToken).ConfigureAwait(false);
            var missing = PeftFiles.Where(f => !File.Exists(Path.Combine(unpacked, f))).ToList();
            if (missing.Count > 0)
            {
                throw new CliUserException(
                    $"The archive of {path.TinkerPath} has no {string.Join(" or ", missing)}: it is not a LoRA checkpoint in PEFT layout.",
                    "Download it with 'tinkerflow checkpoint download' to see what it holds.");
            }

            Directory.CreateDirectory(directory);
            foreach (var file in PeftFiles)
            {
                File.Copy(Path.Combine(unpacked, file), Path.Combine(directory, file), overwrite: true);
            }

            return PeftFiles;
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }
}
