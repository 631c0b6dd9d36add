using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using TinkerFlow.Cli.Output;
using TinkerFlow.Types;

namespace TinkerFlow.Cli.Commands;

/// <summary><c>tinkerflow run list|info</c>: training runs.</summary>
internal static class RunCommands
{
    public static Command Create(CliApp app, GlobalOptions options)
    {
        var run = new Command("run", "Training runs");
        run.Add(CreateList(app, options));
        run.Add(CreateInfo(app, options));
        return run;
    }

    private static Command CreateList(CliApp app, GlobalOptions options)
    {
        var command = new Command("list", "List training runs, newest first");
        var listing = new ListingOptions(defaultLimit: 20);
        listing.AddTo(command);
        var all = new Option<bool>("--include-public") { Description = "Also list other users' runs that have published checkpoints" };
        command.Add(all);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var scope = parse.GetValue(all) ? AccessScope.Accessible : AccessScope.Owned;
            var rest = context.Rest;
            var limit = parse.GetValue(listing.Limit);
            var offset = parse.GetValue(listing.Offset);
            var (runs, total) = await Paging.FetchAsync(
                context,
                "training runs",
                limit,
                offset,
                parse.GetValue(listing.PageSize),
                async (pageLimit, pageOffset) =>
                {
                    var page = await rest.ListTrainingRunsAsync(pageLimit, pageOffset, scope, cancellationToken).ConfigureAwait(false);
                    return (page.TrainingRuns, page.Cursor.TotalCount);
                }).ConfigureAwait(false);

            if (context.Json)
            {
                context.WriteJson(CliContext.ToNode(new TrainingRunsResponse
                {
                    TrainingRuns = runs,
                    Cursor = new Cursor { Offset = offset, Limit = limit, TotalCount = total },
                }));
                return ExitCodes.Success;
            }

            var table = new Table();
            foreach (var column in new[] { "Run", "Base model", "Rank", "Owner", "Last request", "Last checkpoint", "Last sampler checkpoint" })
            {
                table.AddColumn(column);
            }

            foreach (var r in runs)
            {
                table.AddRow(
                    new Text(r.TrainingRunId + (r.Corrupted ? " (corrupted)" : "")),
                    new Text(r.BaseModel),
                    new Text(r.LoraRank?.ToString(CultureInfo.InvariantCulture) ?? (r.IsLora ? "?" : "full")),
                    new Text(r.ModelOwner),
                    new Text(Formatting.Time(r.LastRequestTime)),
                    new Text(r.LastCheckpoint?.TinkerPath ?? "-"),
                    new Text(r.LastSamplerCheckpoint?.TinkerPath ?? "-"));
            }

            context.Console.Write(table);
            context.Console.WriteLine($"{runs.Count} of {total} training run(s) on {context.BackendDescription}.");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateInfo(CliApp app, GlobalOptions options)
    {
        var command = new Command("info", "Show a training run and its checkpoints");
        var id = new Argument<string>("run") { Description = "The training run id, or any tinker:// path of the run" };
        command.Add(id);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var runId = parse.GetRequiredValue(id);
            if (ParsedCheckpointTinkerPath.IsCheckpointPath(runId))
            {
                runId = CliContext.ParsePath(runId).TrainingRunId;
            }

            var rest = context.Rest;
            var run = await rest.GetTrainingRunAsync(runId, AccessScope.Accessible, cancellationToken).ConfigureAwait(false);
            var checkpoints = await rest.ListCheckpointsAsync(runId, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["training_run"] = CliContext.ToNode(run),
                    ["checkpoints"] = CliContext.ToNode(checkpoints)?["checkpoints"]?.DeepClone(),
                });
                return ExitCodes.Success;
            }

            var grid = new Grid().AddColumn().AddColumn();
            void Row(string name, string value) => grid.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
            Row("Run", run.TrainingRunId);
            Row("Base model", run.BaseModel);
            Row("Owner", run.ModelOwner);
            Row("LoRA rank", run.LoraRank?.ToString(CultureInfo.InvariantCulture) ?? "-");
            Row("Corrupted", Formatting.YesNo(run.Corrupted));
            Row("Last request", Formatting.Time(run.LastRequestTime));
            foreach (var (key, value) in run.UserMetadata ?? new Dictionary<string, string>())
            {
                Row($"metadata.{key}", value);
            }

            context.Console.Write(grid);
            context.Console.WriteLine();
            CheckpointCommands.WriteTable(context, checkpoints.Checkpoints);
            return ExitCodes.Success;
        });
        return command;
    }
}
