namespace TinkerFlow.Dataflow;

/// <summary>
/// Collects chosen metrics and writes one PNG line plot per metric (value against step) with ScottPlot, when the
/// stream ends or on <see cref="WritePlots"/>.
/// </summary>
/// <remarks>A metric named <c>train/nll</c> is written to <c>&lt;directory&gt;/train_nll.png</c>.</remarks>
/// <example><code>stage.Metrics.Subscribe(new MetricPlotWriter(Path.Combine(logPath, "plots"), [MetricNames.TrainNll, MetricNames.OptimLr]));</code></example>
public sealed class MetricPlotWriter : IObserver<MetricRecord>
{
    private readonly Lock _gate = new();
    private readonly string _directory;
    private readonly string[] _names;
    private readonly Dictionary<string, (List<double> Steps, List<double> Values)> _series = new(StringComparer.Ordinal);

    /// <summary>Creates a plot writer.</summary>
    /// <param name="directory">Where the PNG files go (created if missing).</param>
    /// <param name="metricNames">The metrics to plot.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    public MetricPlotWriter(string directory, IEnumerable<string> metricNames, int width = 800, int height = 500)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(metricNames);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 16);
        _directory = directory;
        _names = metricNames.Distinct(StringComparer.Ordinal).ToArray();
        if (_names.Length == 0)
        {
            throw new ArgumentException("Name at least one metric to plot, e.g. MetricNames.TrainNll.", nameof(metricNames));
        }

        Width = width;
        Height = height;
        foreach (var name in _names)
        {
            _series[name] = ([], []);
        }
    }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>The file a metric's plot is written to.</summary>
    /// <param name="metricName">The metric name.</param>
    /// <returns>The PNG path.</returns>
    public string PathFor(string metricName) =>
        Path.Combine(_directory, string.Concat(metricName.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_')) + ".png");

    /// <summary>Records the chosen metrics of one step.</summary>
    /// <param name="value">The record.</param>
    public void OnNext(MetricRecord value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_gate)
        {
            foreach (var name in _names)
            {
                if (value.Metrics.TryGetValue(name, out var v) && double.IsFinite(v))
                {
                    _series[name].Steps.Add(value.Step);
                    _series[name].Values.Add(v);
                }
            }
        }
    }

    /// <summary>Writes the plots of what was collected.</summary>
    /// <param name="error">The pipeline's fault.</param>
    public void OnError(Exception error) => WritePlots();

    /// <summary>Writes the plots.</summary>
    public void OnCompleted() => WritePlots();

    /// <summary>Writes one PNG per metric that has at least one point.</summary>
    /// <returns>The files written.</returns>
    public IReadOnlyList<string> WritePlots()
    {
        Directory.CreateDirectory(_directory);
        var written = new List<string>();
        lock (_gate)
        {
            foreach (var name in _names)
            {
                var (steps, values) = _series[name];
                if (steps.Count == 0)
                {
                    continue;
                }

                var plot = new ScottPlot.Plot();
                var line = plot.Add.Scatter(steps.ToArray(), values.ToArray());
                line.LegendText = name;
                plot.Title(name);
                plot.XLabel("step");
                plot.YLabel(name);
                var path = PathFor(name);
                plot.SavePng(path, Width, Height);
                written.Add(path);
            }
        }

        return written;
    }
}
