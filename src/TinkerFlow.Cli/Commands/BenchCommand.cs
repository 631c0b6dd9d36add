using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using TinkerFlow.Dataflow;
using TinkerFlow.Types;

namespace TinkerFlow.Cli.Commands;

/// <summary>
/// <c>tinkerflow bench</c>: training and sampling throughput of the chosen backend (embedded engine or <c>--base-url</c>)
/// for a model, batch shape and LoRA rank, with per-operation round trip and queue wait read from the "TinkerFlow"
/// spans. The measuring code is the Dataflow library's (<see cref="TrainingThroughput"/>, <see cref="SamplingThroughput"/>,
/// <see cref="OperationSpanRecorder"/>, <see cref="StableMedian"/>), shared with the benchmarks.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The training loops measured: a sequential loop, then the training stage at each submit-ahead depth.</summary>
    private static readonly (string Name, int? SubmitAhead)[] TrainingModes = [("sequential", null), ("submit-ahead 0", 0), ("submit-ahead 1", 1), ("submit-ahead 2", 2)];

    public static Command Create(CliApp app, GlobalOptions options)
    {
        var command = new Command("bench", "Measure training and sampling throughput of the backend (embedded engine or --base-url)");
        var model = new Option<string>("--model") { Description = "Base model to train and sample", DefaultValueFactory = _ => "tinkerflow/tiny-qwen3", HelpName = "name" };
        var batch = new Option<int>("--batch") { Description = "Datums per training step", DefaultValueFactory = _ => 4 };
        var seqLen = new Option<int>("--seq-len") { Description = "Tokens per datum", DefaultValueFactory = _ => 64 };
        var rank = new Option<int>("--rank") { Description = "LoRA rank", DefaultValueFactory = _ => 8 };
        var steps = new Option<int>("--steps") { Description = "Training steps per measurement (at least 2)", DefaultValueFactory = _ => 6 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent sampling requests (N)", DefaultValueFactory = _ => 4 };
        var sampleTokens = new Option<int>("--sample-tokens") { Description = "Tokens generated per sampling request", DefaultValueFactory = _ => 16 };
        var minRepeats = new Option<int>("--min-repeats") { Description = "Repeats of each measurement before its median is checked", DefaultValueFactory = _ => 3 };
        var maxRepeats = new Option<int>("--max-repeats") { Description = "Most repeats of each measurement", DefaultValueFactory = _ => 7 };
        var tolerance = new Option<double>("--tolerance") { Description = "Stop repeating once a run moves the median by less than this fraction", DefaultValueFactory = _ => 0.05 };
        var png = new Option<string?>("--png") { Description = "Also draw the throughputs as a bar chart into this PNG file", HelpName = "file" };
        foreach (var option in new Option[] { model, batch, seqLen, rank, steps, concurrency, sampleTokens, minRepeats, maxRepeats, tolerance, png })
        {
            command.Add(option);
        }

        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var settings = new BenchSettings(
                parse.GetRequiredValue(model),
                Positive(parse.GetValue(batch), "--batch"),
                Positive(parse.GetValue(seqLen), "--seq-len"),
                Positive(parse.GetValue(rank), "--rank"),
                parse.GetValue(steps) >= 2 ? parse.GetValue(steps) : throw new CliUserException($"--steps must be at least 2 (a rate needs two completions), not {parse.GetValue(steps)}."),
                Positive(parse.GetValue(concurrency), "--concurrency"),
                Positive(parse.GetValue(sampleTokens), "--sample-tokens"),
                Positive(parse.GetValue(minRepeats), "--min-repeats"),
                parse.GetValue(maxRepeats),
                parse.GetValue(tolerance));
            if (settings.MaxRepeats < settings.MinRepeats)
            {
                throw new CliUserException($"--max-repeats ({settings.MaxRepeats}) must be at least --min-repeats ({settings.MinRepeats}).");
            }

            if (settings.Tolerance is < 0 or > 1 || double.IsNaN(settings.Tolerance))
            {
                throw new CliUserException($"--tolerance must be between 0 and 1, not {settings.Tolerance.ToString(CultureInfo.InvariantCulture)}.", "E.g. 0.05 stops once a run moves the median by less than 5 %.");
            }

            var report = await RunAsync(context, settings, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(png) is { } pngPath)
            {
                DrawChart(report, pngPath);
            }

            if (context.Json)
            {
                context.WriteJson(ToJson(report, parse.GetValue(png)));
            }
            else
            {
                Print(context, report, parse.GetValue(png));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    internal sealed record BenchSettings(string Model, int Batch, int SeqLen, int Rank, int Steps, int Concurrency, int SampleTokens, int MinRepeats, int MaxRepeats, double Tolerance);

    internal sealed record Throughput(string Name, StableMedianResult TokensPerSecond);

    internal sealed record BenchReport(string Backend, BenchSettings Settings, IReadOnlyList<Throughput> Training, IReadOnlyList<Throughput> Sampling, IReadOnlyList<OperationTiming> Operations);

    private static async Task<BenchReport> RunAsync(CliContext context, BenchSettings s, CancellationToken cancellationToken)
    {
        var training = await context.Service.CreateLoraTrainingClientAsync(s.Model, rank: s.Rank, seed: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
        var data = Batch(s.Batch, s.SeqLen);
        var tokensPerStep = (double)s.Batch * s.SeqLen;
        await TrainingThroughput.SequentialAsync(training, data, 2, cancellationToken: cancellationToken).ConfigureAwait(false);    // warm-up

        using var spans = new OperationSpanRecorder();
        var trainingRates = new List<Throughput>();
        foreach (var (name, submitAhead) in TrainingModes)
        {
            Progress(context, $"training, {name}");
            var result = await StableMedian.MeasureAsync(
                async ct => tokensPerStep * (submitAhead is { } k
                    ? await TrainingThroughput.PipelinedAsync(training, data, s.Steps, k, cancellationToken: ct).ConfigureAwait(false)
                    : await TrainingThroughput.SequentialAsync(training, data, s.Steps, cancellationToken: ct).ConfigureAwait(false)),
                s.MinRepeats,
                s.MaxRepeats,
                s.Tolerance,
                cancellationToken).ConfigureAwait(false);
            trainingRates.Add(new Throughput(name, result));
        }

        var sampler = await training.SaveWeightsAndGetSamplingClientAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var prompt = ModelInput.FromInts(data[0].ModelInput.ToInts().Take(Math.Min(16, s.SeqLen)));
        var sampling = new SamplingParams { MaxTokens = s.SampleTokens, Temperature = 1, Seed = 1 };
        await SamplingThroughput.TokensPerSecondAsync(sampler, prompt, sampling, 1, 1, cancellationToken).ConfigureAwait(false);  // warm-up
        var samplingRates = new List<Throughput>();
        foreach (var (name, concurrent) in new[] { ("1 request at a time", 1), ($"{s.Concurrency} concurrent", s.Concurrency) })
        {
            Progress(context, $"sampling, {name}");
            var result = await StableMedian.MeasureAsync(
                ct => SamplingThroughput.TokensPerSecondAsync(sampler, prompt, sampling, s.Concurrency, concurrent, ct),
                s.MinRepeats,
                s.MaxRepeats,
                s.Tolerance,
                cancellationToken).ConfigureAwait(false);
            samplingRates.Add(new Throughput(name, result));
        }

        // Spans end on other threads just after their results arrive.
        await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        return new BenchReport(context.BackendDescription, s, trainingRates, samplingRates, spans.Summarize());
    }

    private static void Progress(CliContext context, string what)
    {
        if (context.ShowProgress)
        {
            context.Error.WriteLine($"bench: measuring {what}…");
        }
    }

    /// <summary>Deterministic next-token datums of the requested shape (token ids 10–209, valid for any real vocabulary).</summary>
    private static List<Datum> Batch(int count, int seqLen)
    {
        var random = new Random(1234);
        var data = new List<Datum>(count);
        for (var i = 0; i < count; i++)
        {
            var tokens = Enumerable.Range(0, seqLen + 1).Select(_ => 10 + random.Next(200)).ToArray();
            data.Add(Datum.Create(
                ModelInput.FromInts(tokens[..^1]),
                new Dictionary<string, object> { ["target_tokens"] = tokens[1..], ["weights"] = Enumerable.Repeat(1f, seqLen).ToArray() }));
        }

        return data;
    }

    private static int Positive(int value, string name) =>
        value >= 1 ? value : throw new CliUserException($"{name} must be at least 1, not {value}.");

    private static string Rate(StableMedianResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"{r.Median:0.0}") + (r.Stable ? string.Empty : " (not stable)");

    private static string Ms(double? seconds) => seconds is { } s ? string.Create(CultureInfo.InvariantCulture, $"{s * 1000:0.0}") : "–";

    private static void Print(CliContext context, BenchReport report, string? png)
    {
        var s = report.Settings;
        context.Console.MarkupLine(Markup.Escape($"Backend: {report.Backend}; model {s.Model}, LoRA rank {s.Rank}, batch {s.Batch} × {s.SeqLen} tokens, {s.Steps} steps per run, sampling {s.SampleTokens} tokens per request"));
        var throughput = new Table().AddColumns("measurement", "tokens/s (median)", "runs", "samples (tokens/s)");
        foreach (var (kind, rows) in new[] { ("fb+optim", report.Training), ("sampling", report.Sampling) })
        {
            foreach (var row in rows)
            {
                throughput.AddRow(
                    Markup.Escape($"{kind}, {row.Name}"),
                    Markup.Escape(Rate(row.TokensPerSecond)),
                    row.TokensPerSecond.Samples.Count.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(string.Join(", ", row.TokensPerSecond.Samples.Select(v => v.ToString("0", CultureInfo.InvariantCulture)))));
            }
        }

        context.Console.Write(throughput);
        var operations = new Table().AddColumns("operation", "count", "round trip ms (median)", "queue wait ms (median)", "engine ms (median)");
        foreach (var op in report.Operations)
        {
            operations.AddRow(Markup.Escape(op.Operation), op.Count.ToString(CultureInfo.InvariantCulture), Ms(op.RoundTrip), Ms(op.QueueWait), Ms(op.EngineTime));
        }

        context.Console.Write(operations);
        if (png is not null)
        {
            context.Console.MarkupLine(Markup.Escape($"Chart: {png}"));
        }
    }

    private static JsonObject ToJson(BenchReport report, string? png)
    {
        static JsonArray Rates(IEnumerable<Throughput> rows) => new(rows.Select(r => (JsonNode)new JsonObject
        {
            ["name"] = r.Name,
            ["tokens_per_second"] = r.TokensPerSecond.Median,
            ["stable"] = r.TokensPerSecond.Stable,
            ["samples"] = new JsonArray(r.TokensPerSecond.Samples.Select(v => (JsonNode)v).ToArray()),
        }).ToArray());

        var s = report.Settings;
        return new JsonObject
        {
            ["backend"] = report.Backend,
            ["model"] = s.Model,
            ["lora_rank"] = s.Rank,
            ["batch"] = s.Batch,
            ["seq_len"] = s.SeqLen,
            ["steps_per_run"] = s.Steps,
            ["sample_tokens"] = s.SampleTokens,
            ["concurrency"] = s.Concurrency,
            ["training"] = Rates(report.Training),
            ["sampling"] = Rates(report.Sampling),
            ["operations"] = new JsonArray(report.Operations.Select(o => (JsonNode)new JsonObject
            {
                ["operation"] = o.Operation,
                ["count"] = o.Count,
                ["round_trip_seconds"] = o.RoundTrip,
                ["queue_wait_seconds"] = o.QueueWait,
                ["engine_seconds"] = o.EngineTime,
            }).ToArray()),
            ["png"] = png,
        };
    }

    private static void DrawChart(BenchReport report, string path)
    {
        var rows = report.Training.Select(r => ($"fb+optim\n{r.Name}", r.TokensPerSecond.Median))
            .Concat(report.Sampling.Select(r => ($"sampling\n{r.Name}", r.TokensPerSecond.Median)))
            .ToList();
        var plot = new ScottPlot.Plot();
        var bars = plot.Add.Bars(rows.Select(r => r.Median).ToArray());
        bars.ValueLabelStyle.IsVisible = true;
        foreach (var bar in bars.Bars)
        {
            bar.Label = bar.Value.ToString("0", CultureInfo.InvariantCulture);
        }

        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, rows.Count).Select(i => (double)i).ToArray(), rows.Select(r => r.Item1).ToArray());
        plot.Axes.Margins(bottom: 0);
        var s = report.Settings;
        plot.Title($"{s.Model}, LoRA r{s.Rank}, batch {s.Batch}×{s.SeqLen}");
        plot.YLabel("tokens/s (median)");
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        plot.SavePng(path, 900, 500);
    }
}
