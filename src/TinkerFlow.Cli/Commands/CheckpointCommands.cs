using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using TinkerFlow.Cli.Output;
using TinkerFlow.Types;

namespace TinkerFlow.Cli.Commands;

/// <summary><c>tinkerflow checkpoint list|info|download|publish|unpublish|set-ttl|delete</c>.</summary>
internal static class CheckpointCommands
{
    public static Command Create(CliApp app, GlobalOptions options)
    {
        var checkpoint = new Command("checkpoint", "Saved checkpoints (tinker://<run>/weights/<name> and tinker://<run>/sampler_weights/<name>)");
        checkpoint.Add(CreateList(app, options));
        checkpoint.Add(CreateInfo(app, options));
        checkpoint.Add(CheckpointDownloadCommand.Create(app, options));
        checkpoint.Add(CreateVisibility(app, options, publish: true));
        checkpoint.Add(CreateVisibility(app, options, publish: false));
        checkpoint.Add(CreateSetTtl(app, options));
        checkpoint.Add(CreateDelete(app, options));
        return checkpoint;
    }

    /// <summary>Writes checkpoints as a table (path, type, size, time, public, expiry).</summary>
    public static void WriteTable(CliContext context, IEnumerable<Checkpoint> checkpoints)
    {
        var table = new Table();
        foreach (var column in new[] { "Path", "Type", "Size", "Saved", "Public", "Expires" })
        {
            table.AddColumn(column);
        }

        foreach (var c in checkpoints)
        {
            table.AddRow(
                new Text(c.TinkerPath),
                new Text(c.CheckpointType == CheckpointType.Training ? "training" : "sampler"),
                new Text(Formatting.Bytes(c.SizeBytes)),
                new Text(Formatting.Time(c.Time)),
                new Text(Formatting.YesNo(c.Public)),
                new Text(c.ExpiresAt is { } e ? Formatting.Time(e) : "never"));
        }

        context.Console.Write(table);
    }

    private static Argument<string[]> PathsArgument(string description) => new("paths")
    {
        Description = description,
        Arity = ArgumentArity.OneOrMore,
    };

    private static Command CreateList(CliApp app, GlobalOptions options)
    {
        var command = new Command("list", "List your checkpoints, newest first (all runs, or one with --run)");
        var listing = new ListingOptions(defaultLimit: 20);
        listing.AddTo(command);
        var runOption = new Option<string?>("--run") { Description = "Only this training run's checkpoints (its own and, for others' runs, the published ones)" };
        command.Add(runOption);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var rest = context.Rest;
            var runId = parse.GetValue(runOption);
            var limit = parse.GetValue(listing.Limit);
            var offset = parse.GetValue(listing.Offset);
            List<Checkpoint> checkpoints;
            int total;
            if (runId is not null)
            {
                var all = (await rest.ListCheckpointsAsync(runId, cancellationToken).ConfigureAwait(false)).Checkpoints;
                var (pageItems, pageTotal) = await Paging.FetchAsync<Checkpoint>(
                    context, "checkpoints", limit, offset, parse.GetValue(listing.PageSize),
                    (pageLimit, pageOffset) => Task.FromResult<(IReadOnlyList<Checkpoint>, int)>((all.Skip(pageOffset).Take(pageLimit).ToList(), all.Count))).ConfigureAwait(false);
                (checkpoints, total) = (pageItems, pageTotal);
            }
            else
            {
                (checkpoints, total) = await Paging.FetchAsync(
                    context,
                    "checkpoints",
                    limit,
                    offset,
                    parse.GetValue(listing.PageSize),
                    async (pageLimit, pageOffset) =>
                    {
                        var page = await rest.ListUserCheckpointsAsync(pageLimit, pageOffset, cancellationToken).ConfigureAwait(false);
                        return (page.Checkpoints, page.Cursor?.TotalCount ?? pageOffset + page.Checkpoints.Count);
                    }).ConfigureAwait(false);
            }

            if (context.Json)
            {
                context.WriteJson(CliContext.ToNode(new CheckpointsListResponse
                {
                    Checkpoints = checkpoints,
                    Cursor = new Cursor { Offset = offset, Limit = limit, TotalCount = total },
                }));
                return ExitCodes.Success;
            }

            WriteTable(context, checkpoints);
            context.Console.WriteLine($"{checkpoints.Count} of {total} checkpoint(s) on {context.BackendDescription}.");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateInfo(CliApp app, GlobalOptions options)
    {
        var command = new Command("info", "Show a checkpoint: size, times, visibility, base model and LoRA settings");
        var pathArgument = new Argument<string>("path") { Description = "The checkpoint's tinker:// path" };
        command.Add(pathArgument);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var path = CliContext.ParsePath(parse.GetRequiredValue(pathArgument));
            var checkpoint = await FindAsync(context, path, cancellationToken).ConfigureAwait(false);
            var weights = await context.Rest.GetWeightsInfoByTinkerPathAsync(path.TinkerPath, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["checkpoint"] = CliContext.ToNode(checkpoint),
                    ["training_run_id"] = path.TrainingRunId,
                    ["weights_info"] = CliContext.ToNode(weights),
                });
                return ExitCodes.Success;
            }

            var grid = new Grid().AddColumn().AddColumn();
            void Row(string name, string value) => grid.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
            Row("Path", checkpoint.TinkerPath);
            Row("Run", path.TrainingRunId);
            Row("Type", checkpoint.CheckpointType == CheckpointType.Training ? "training (weights + optimizer state)" : "sampler (weights)");
            Row("Size", Formatting.Bytes(checkpoint.SizeBytes));
            Row("Saved", Formatting.Time(checkpoint.Time));
            Row("Public", Formatting.YesNo(checkpoint.Public));
            Row("Expires", checkpoint.ExpiresAt is { } e ? Formatting.Time(e) : "never");
            Row("Base model", weights.BaseModel);
            Row("LoRA", weights.IsLora ? $"rank {weights.LoraRank}, attn {Formatting.YesNo(weights.TrainAttn ?? true)}, mlp {Formatting.YesNo(weights.TrainMlp ?? true)}, unembed {Formatting.YesNo(weights.TrainUnembed ?? true)}" : "no (full weights)");
            context.Console.Write(grid);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateVisibility(CliApp app, GlobalOptions options, bool publish)
    {
        var command = new Command(
            publish ? "publish" : "unpublish",
            publish ? "Let other users load these checkpoints" : "Make published checkpoints private again");
        var paths = PathsArgument("The checkpoints' tinker:// paths");
        command.Add(paths);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var parsed = parse.GetRequiredValue(paths).Select(CliContext.ParsePath).ToList();
            var rest = context.Rest;
            var done = new JsonArray();
            foreach (var path in parsed)
            {
                if (publish)
                {
                    await rest.PublishCheckpointFromTinkerPathAsync(path.TinkerPath, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await rest.UnpublishCheckpointFromTinkerPathAsync(path.TinkerPath, cancellationToken).ConfigureAwait(false);
                }

                done.Add(path.TinkerPath);
                if (!context.Json)
                {
                    context.Console.WriteLine($"{(publish ? "Published" : "Unpublished")} {path.TinkerPath}");
                }
            }

            if (context.Json)
            {
                context.WriteJson(new JsonObject { [publish ? "published" : "unpublished"] = done });
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateSetTtl(CliApp app, GlobalOptions options)
    {
        var command = new Command("set-ttl", "Delete checkpoints automatically after a time, or keep them forever (--ttl none)");
        var paths = PathsArgument("The checkpoints' tinker:// paths");
        var ttl = new Option<string>("--ttl")
        {
            Description = "Time to live from now: seconds, or 90s, 30m, 12h, 7d; 'none' keeps them forever",
            Required = true,
            HelpName = "duration",
        };
        command.Add(paths);
        command.Add(ttl);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var seconds = TtlParser.Parse(parse.GetRequiredValue(ttl));
            var parsed = parse.GetRequiredValue(paths).Select(CliContext.ParsePath).ToList();
            var rest = context.Rest;
            var done = new JsonArray();
            foreach (var path in parsed)
            {
                await rest.SetCheckpointTtlFromTinkerPathAsync(path.TinkerPath, seconds, cancellationToken).ConfigureAwait(false);
                done.Add(path.TinkerPath);
                if (!context.Json)
                {
                    context.Console.WriteLine(seconds is { } s
                        ? $"{path.TinkerPath} now expires in {Formatting.Duration(TimeSpan.FromSeconds(s))}."
                        : $"{path.TinkerPath} is now kept forever.");
                }
            }

            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["updated"] = done, ["ttl_seconds"] = seconds });
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateDelete(CliApp app, GlobalOptions options)
    {
        var command = new Command("delete", "Delete checkpoints (asks once for all of them unless --yes)");
        var paths = PathsArgument("The checkpoints' tinker:// paths");
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation" };
        command.Add(paths);
        command.Add(yes);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var parsed = parse.GetRequiredValue(paths).Select(CliContext.ParsePath).DistinctBy(p => p.TinkerPath).ToList();
            if (!parse.GetValue(yes))
            {
                if (parsed.Count > 1)
                {
                    foreach (var path in parsed)
                    {
                        context.Console.WriteLine($"  {path.TinkerPath}");
                    }
                }

                var question = parsed.Count == 1
                    ? $"Delete {parsed[0].TinkerPath}? This cannot be undone."
                    : $"Delete these {parsed.Count} checkpoints? This cannot be undone.";
                if (!context.Confirm(question))
                {
                    if (context.Json)
                    {
                        context.WriteJson(new JsonObject { ["deleted"] = new JsonArray() });
                    }
                    else
                    {
                        context.Console.WriteLine("Nothing deleted.");
                    }

                    return ExitCodes.Success;
                }
            }

            var rest = context.Rest;
            var deleted = new JsonArray();
            foreach (var path in parsed)
            {
                await rest.DeleteCheckpointFromTinkerPathAsync(path.TinkerPath, cancellationToken).ConfigureAwait(false);
                deleted.Add(path.TinkerPath);
                if (!context.Json)
                {
                    context.Console.WriteLine($"Deleted {path.TinkerPath}");
                }
            }

            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["deleted"] = deleted });
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The listing entry of a checkpoint, or a user error that names the path.</summary>
    internal static async Task<Checkpoint> FindAsync(CliContext context, ParsedCheckpointTinkerPath path, CancellationToken cancellationToken)
    {
        var listed = await context.Rest.ListCheckpointsAsync(path.TrainingRunId, cancellationToken).ConfigureAwait(false);
        return listed.Checkpoints.FirstOrDefault(c => c.CheckpointId == path.CheckpointId)
            ?? throw new CliUserException(
                $"There is no checkpoint '{path.CheckpointId}' in training run '{path.TrainingRunId}' on {context.BackendDescription}.",
                $"List the run's checkpoints with 'tinkerflow checkpoint list --run {path.TrainingRunId}'.");
    }
}
