using System.Diagnostics.Metrics;
using System.Reactive.Concurrency;
using System.Reactive.Subjects;
using System.Text.Json;
using Spectre.Console;

namespace TinkerFlow.Dataflow.Tests;

public sealed class MetricsTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tinkerflow-dataflow-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static MetricRecord Record(long step, params (string Name, double Value)[] metrics) =>
        new(step, metrics.ToDictionary(m => m.Name, m => m.Value), T0);

    [Fact]
    public void WindowedMean_AveragesEachWindowInVirtualTime()
    {
        var scheduler = new HistoricalScheduler(T0);
        var source = new Subject<MetricRecord>();
        var windows = new List<MetricRecord>();
        using var sub = source.WindowedMean(TimeSpan.FromSeconds(10), scheduler).Subscribe(windows.Add);

        source.OnNext(Record(0, ("train_mean_nll", 2.0)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(4));
        source.OnNext(Record(1, ("train_mean_nll", 1.0), ("optim/lr", 1e-4)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(6)); // first window closes at t = 10 s
        scheduler.AdvanceBy(TimeSpan.FromSeconds(10)); // an empty window emits nothing
        source.OnNext(Record(2, ("train_mean_nll", 0.5)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(10));

        Assert.Equal(2, windows.Count);
        Assert.Equal(1, windows[0].Step);
        Assert.Equal(1.5, windows[0].Metrics["train_mean_nll"]);
        Assert.Equal(1e-4, windows[0].Metrics["optim/lr"]);
        Assert.Equal(T0.AddSeconds(10), windows[0].Timestamp);
        Assert.Equal(0.5, windows[1].Metrics["train_mean_nll"]);
        Assert.Equal(T0.AddSeconds(30), windows[1].Timestamp);
    }

    [Fact]
    public void Values_SelectsOneMetricWithItsStep()
    {
        var source = new Subject<MetricRecord>();
        var values = new List<(long, double)>();
        using var sub = source.Values(MetricNames.TrainNll).Subscribe(values.Add);
        source.OnNext(Record(0, ("train_mean_nll", 2.0)));
        source.OnNext(Record(1, ("optim/lr", 1.0)));
        source.OnNext(Record(2, ("train_mean_nll", 1.0)));
        Assert.Equal([(0L, 2.0), (2L, 1.0)], values);
    }

    [Fact]
    public void ConsoleMetricsView_PlainMode_ThrottlesLinesInVirtualTime()
    {
        var scheduler = new HistoricalScheduler(T0);
        var output = new StringWriter();
        var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions
        {
            Title = "sft",
            Interactive = false,
            PlainOutput = output,
            TotalSteps = 10,
            PlainLineInterval = TimeSpan.FromSeconds(5),
            Scheduler = scheduler,
        });
        Assert.False(view.IsInteractive);

        view.OnNext(Record(0, ("train_mean_nll", 2.0), (MetricNames.ProgressStepsInFlight, 2)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(2));
        view.OnNext(Record(1, ("train_mean_nll", 1.5))); // within 5 s: no line
        scheduler.AdvanceBy(TimeSpan.FromSeconds(4));
        view.OnNext(Record(2, ("train_mean_nll", 1.25))); // t = 6 s: a line, ETA = 7 steps × 3 s
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1));
        view.OnNext(Record(3, ("train_mean_nll", 1.0))); // throttled, printed on completion
        view.OnCompleted();

        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Equal("sft step 1/10 (10.0%) | train_mean_nll=2 | in flight: 2 steps", lines[0]);
        Assert.Equal("sft step 3/10 (30.0%) eta 0:00:21 | train_mean_nll=1.25 | in flight: 2 steps", lines[1]);
        Assert.StartsWith("sft step 4/10 (40.0%)", lines[2]);
        Assert.True(view.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task ConsoleMetricsView_LiveMode_RendersBarMetricsAndInFlightWork()
    {
        var scheduler = new HistoricalScheduler(T0);
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(text),
        });
        var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions
        {
            Title = "rl",
            Interactive = true,
            Console = console,
            TotalSteps = 4,
            Scheduler = scheduler,
            ShownMetrics = [MetricNames.TrainNll, MetricNames.RlStalenessMean],
        });
        Assert.True(view.IsInteractive);

        view.OnNext(Record(0, ("train_mean_nll", 2.0), (MetricNames.RlStalenessMean, 0.5), (MetricNames.RlRolloutsInFlight, 7)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1));
        view.OnNext(Record(1, ("train_mean_nll", 1.0), (MetricNames.RlStalenessMean, 0.25), (MetricNames.RlRolloutsInFlight, 5), (MetricNames.ProgressStepsInFlight, 2)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1)); // the refresh ticks redraw in virtual time

        var snapshot = new StringWriter();
        AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(snapshot) })
            .Write(view.BuildRenderable());
        var rendered = snapshot.ToString();
        Assert.Contains("step 2/4 (50.0%) eta 0:00:02", rendered);
        Assert.Contains(new string('━', 20), rendered);
        Assert.Contains("train_mean_nll", rendered);
        Assert.Contains("sampling_client/step_mean", rendered);
        Assert.Contains("0.25", rendered);
        Assert.Contains("in flight: 2 steps, 5 rollouts", rendered);

        view.OnCompleted();
        await view.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("step 2/4", text.ToString());
    }

    [Fact]
    public void JsonlMetricsWriter_WritesOneFlushedObjectPerStep()
    {
        var path = Path.Combine(_dir, "run", "metrics.jsonl");
        var writer = new JsonlMetricsWriter(path);
        writer.OnNext(Record(0, ("train_mean_nll", 2.5), ("optim/lr", 1e-4)));
        writer.OnNext(Record(1, ("train_mean_nll", double.NaN), ("time/step", 0.5)));

        // Flushed per line: readable while the writer is still open.
        using (var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)))
        {
            var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            using var first = JsonDocument.Parse(lines[0]);
            Assert.Equal(0, first.RootElement.GetProperty("step").GetInt64());
            Assert.Equal(2.5, first.RootElement.GetProperty("train_mean_nll").GetDouble());
            Assert.Equal(1e-4, first.RootElement.GetProperty("optim/lr").GetDouble());
            Assert.Equal("step", first.RootElement.EnumerateObject().First().Name);
            using var second = JsonDocument.Parse(lines[1]);
            Assert.Equal(JsonValueKind.Null, second.RootElement.GetProperty("train_mean_nll").ValueKind);
        }

        writer.OnCompleted();
        writer.OnNext(Record(2, ("train_mean_nll", 1.0))); // after completion: ignored
        Assert.Equal(2, File.ReadAllLines(path).Length);
        Assert.Equal("""{"step":7,"a/b":1,"z":0.5}""", JsonlMetricsWriter.Format(Record(7, ("z", 0.5), ("a/b", 1))));
    }

    [Fact]
    public void MetricPlotWriter_WritesAPngPerMetric()
    {
        var plots = new MetricPlotWriter(_dir, [MetricNames.TrainNll, MetricNames.OptimLr, "never/seen"], width: 320, height: 200);
        for (var step = 0; step < 5; step++)
        {
            plots.OnNext(Record(step, (MetricNames.TrainNll, 2.0 / (step + 1)), (MetricNames.OptimLr, 1e-4)));
        }

        plots.OnCompleted();

        var nll = plots.PathFor(MetricNames.TrainNll);
        Assert.EndsWith("train_mean_nll.png", nll);
        Assert.True(new FileInfo(nll).Length > 0);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(nll).Take(4));
        Assert.True(File.Exists(plots.PathFor(MetricNames.OptimLr)));
        Assert.False(File.Exists(plots.PathFor("never/seen")));
    }

    [Fact]
    public void MetricsMeter_PublishesLatestValuesAsGauges()
    {
        using var meter = new MetricsMeter();
        var seen = new Dictionary<string, double>();
        long steps = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MetricsMeter.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => seen[instrument.Name] = value);
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == MetricsMeter.StepsInstrumentName)
            {
                steps += value;
            }
        });
        listener.Start();

        meter.OnNext(Record(0, ("train_mean_nll", 2.0), ("train/loss:sum", 8)));
        meter.OnNext(Record(1, ("train_mean_nll", 1.5)));
        listener.RecordObservableInstruments();

        Assert.Equal(1.5, seen["tinkerflow.train_mean_nll"]);
        Assert.Equal(8, seen["tinkerflow.train.loss_sum"]);
        Assert.Equal(2, steps);
        Assert.Equal("tinkerflow.progress.done_frac", MetricsMeter.InstrumentNameFor(MetricNames.ProgressDoneFrac));
    }
}
