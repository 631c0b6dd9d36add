using System.Globalization;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Text;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace TinkerFlow.Dataflow;

/// <summary>
/// A live console view of a metric stream: a progress bar with ETA, the current metrics and the work in flight
/// (steps, rollouts). When stdout is not a terminal it degrades to one plain text line per record (throttled by
/// <see cref="ConsoleMetricsViewOptions.PlainLineInterval"/>).
/// </summary>
/// <example>
/// <code>
/// using var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions { TotalSteps = 100 });
/// using var sub = stage.Metrics.Subscribe(view);
/// await stage.Completion;
/// await view.Completion;
/// </code>
/// </example>
public sealed class ConsoleMetricsView : IObserver<MetricRecord>, IDisposable
{
    private readonly Lock _gate = new();
    private readonly ConsoleMetricsViewOptions _options;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, double> _latest = new(StringComparer.Ordinal);
    private readonly IDisposable? _ticker;
    private readonly TextWriter? _plain;
    private LiveDisplayContext? _live;
    private MetricRecord? _last;
    private DateTimeOffset? _startedAt;
    private DateTimeOffset _lastAt;
    private DateTimeOffset? _lastPlainAt;
    private bool _lastPrinted = true;
    private bool _dirty;
    private int _records;

    /// <summary>Creates the view; in live mode it takes over the console until the stream ends or it is disposed.</summary>
    /// <param name="options">Title, total steps, shown metrics, console, clock; null for the defaults.</param>
    public ConsoleMetricsView(ConsoleMetricsViewOptions? options = null)
    {
        _options = options ?? new ConsoleMetricsViewOptions();
        var console = _options.Console ?? AnsiConsole.Console;
        IsInteractive = _options.Interactive ?? (!System.Console.IsOutputRedirected && console.Profile.Capabilities.Interactive);
        if (IsInteractive)
        {
            Completion = console.Live(BuildRenderable()).AutoClear(false).StartAsync(async ctx =>
            {
                lock (_gate)
                {
                    _live = ctx;
                }

                await _done.Task.ConfigureAwait(false);
                ctx.UpdateTarget(BuildRenderable());
                ctx.Refresh();
            });
            _ticker = Observable.Interval(_options.RefreshInterval, _options.Scheduler).Subscribe(_ => Redraw());
        }
        else
        {
            _plain = _options.PlainOutput ?? System.Console.Out;
            Completion = _done.Task;
        }
    }

    /// <summary>True when the live view is used, false for plain lines.</summary>
    public bool IsInteractive { get; }

    /// <summary>Completes once the stream ended (or the view was disposed) and the final state was drawn.</summary>
    public Task Completion { get; }

    /// <summary>Records a step; in plain mode prints a line unless one was printed within <see cref="ConsoleMetricsViewOptions.PlainLineInterval"/>.</summary>
    /// <param name="value">The record.</param>
    public void OnNext(MetricRecord value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string? line = null;
        lock (_gate)
        {
            var now = _options.Scheduler.Now;
            _startedAt ??= now;
            _lastAt = now;
            _last = value;
            _records++;
            foreach (var (key, v) in value.Metrics)
            {
                _latest[key] = v;
            }

            _dirty = true;
            _lastPrinted = false;
            if (_plain is not null && (_lastPlainAt is null || now - _lastPlainAt >= _options.PlainLineInterval))
            {
                _lastPlainAt = now;
                _lastPrinted = true;
                line = FormatLine();
            }
        }

        if (line is not null)
        {
            _plain!.WriteLine(line);
        }
    }

    /// <summary>Draws the final state and reports the error.</summary>
    /// <param name="error">The pipeline's fault.</param>
    public void OnError(Exception error)
    {
        Finish($"stopped: {error.GetType().Name}: {error.Message}");
    }

    /// <summary>Draws the final state.</summary>
    public void OnCompleted() => Finish(null);

    /// <summary>Stops refreshing and releases the console.</summary>
    public void Dispose() => Finish(null);

    /// <summary>The plain-mode line for the current state.</summary>
    /// <returns>E.g. <c>training step 12/100 (12.0%) eta 0:01:02 | train/nll=1.2345 | in flight: 2 steps</c>.</returns>
    internal string FormatLine()
    {
        lock (_gate)
        {
            var sb = new StringBuilder(_options.Title).Append(' ').Append(ProgressText());
            var metrics = string.Join(' ', Shown().Select(kv => $"{kv.Key}={Format(kv.Value)}"));
            if (metrics.Length > 0)
            {
                sb.Append(" | ").Append(metrics);
            }

            if (InFlightText() is { } inFlight)
            {
                sb.Append(" | in flight: ").Append(inFlight);
            }

            return sb.ToString();
        }
    }

    /// <summary>The live-mode renderable for the current state.</summary>
    /// <returns>Title and progress bar, a metrics table and the in-flight line.</returns>
    internal IRenderable BuildRenderable()
    {
        lock (_gate)
        {
            var rows = new List<IRenderable>
            {
                new Markup($"[bold]{Markup.Escape(_options.Title)}[/] {Markup.Escape(ProgressText())}"),
            };
            if (_options.TotalSteps is { } total)
            {
                const int width = 40;
                var done = (int)Math.Round(width * Math.Clamp(StepsDone() / (double)total, 0, 1));
                rows.Add(new Markup($"[green]{new string('━', done)}[/][grey]{new string('━', width - done)}[/]"));
            }

            var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            foreach (var (key, value) in Shown())
            {
                table.AddRow(Markup.Escape(key), Format(value));
            }

            rows.Add(table);
            rows.Add(new Markup($"in flight: {Markup.Escape(InFlightText() ?? "–")}"));
            return new Rows(rows);
        }
    }

    private void Finish(string? message)
    {
        string? line = null;
        lock (_gate)
        {
            if (_done.Task.IsCompleted)
            {
                return;
            }

            if (_plain is not null)
            {
                if (!_lastPrinted && _last is not null)
                {
                    line = FormatLine();
                }

                if (message is not null)
                {
                    line = line is null ? $"{_options.Title} {message}" : $"{line}{Environment.NewLine}{_options.Title} {message}";
                }
            }
        }

        _ticker?.Dispose();
        if (line is not null)
        {
            _plain!.WriteLine(line);
        }

        _done.TrySetResult();
    }

    private void Redraw()
    {
        LiveDisplayContext? live;
        lock (_gate)
        {
            if (!_dirty || _live is null)
            {
                return;
            }

            _dirty = false;
            live = _live;
        }

        live.UpdateTarget(BuildRenderable());
    }

    private long StepsDone() => _last is null ? 0 : _last.Step + 1;

    private string ProgressText()
    {
        var done = StepsDone();
        if (_options.TotalSteps is not { } total)
        {
            return $"step {done}";
        }

        var frac = Math.Clamp(done / (double)total, 0, 1);
        var text = string.Create(CultureInfo.InvariantCulture, $"step {done}/{total} ({frac * 100:0.0}%)");
        if (Eta() is { } eta)
        {
            text += $" eta {eta:h\\:mm\\:ss}";
        }

        return text;
    }

    /// <summary>Remaining steps × mean time between records (first to latest), so the estimate is stable between records.</summary>
    private TimeSpan? Eta()
    {
        if (_options.TotalSteps is not { } total || _startedAt is not { } start || _records < 2)
        {
            return null;
        }

        var perRecord = (_lastAt - start) / (_records - 1);
        var remaining = Math.Max(0, total - StepsDone());
        return perRecord * remaining;
    }

    private IEnumerable<KeyValuePair<string, double>> Shown()
    {
        if (_options.ShownMetrics is { } names)
        {
            return names.Where(_latest.ContainsKey).Select(n => new KeyValuePair<string, double>(n, _latest[n])).ToList();
        }

        return _latest.Where(kv => !kv.Key.StartsWith("progress/", StringComparison.Ordinal)
                && kv.Key is not MetricNames.RlRolloutsInFlight and not MetricNames.RlRolloutsBuffered)
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(12)
            .ToList();
    }

    private string? InFlightText()
    {
        var parts = new List<string>();
        if (_latest.TryGetValue(MetricNames.ProgressStepsInFlight, out var steps))
        {
            parts.Add($"{steps:0} steps");
        }

        if (_latest.TryGetValue(MetricNames.RlRolloutsInFlight, out var rollouts))
        {
            parts.Add($"{rollouts:0} rollouts");
        }

        if (_latest.TryGetValue(MetricNames.RlRolloutsBuffered, out var buffered))
        {
            parts.Add($"{buffered:0} rollouts waiting");
        }

        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    private static string Format(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e9
            ? value.ToString("0", CultureInfo.InvariantCulture)
            : value.ToString("G5", CultureInfo.InvariantCulture);
}
