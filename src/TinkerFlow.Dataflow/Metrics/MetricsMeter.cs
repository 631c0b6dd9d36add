using System.Diagnostics.Metrics;

namespace TinkerFlow.Dataflow;

/// <summary>
/// Publishes pipeline metrics through a <see cref="Meter"/> named <see cref="MeterName"/>, for OpenTelemetry users
/// (<c>.AddMeter("TinkerFlow.Dataflow")</c>): one observable gauge per metric, holding its latest value, and a
/// counter of steps.
/// </summary>
/// <remarks>
/// Instrument names are the metric names with <c>/</c> turned into <c>.</c> and <c>:</c> into <c>_</c>, prefixed with
/// <c>tinkerflow.</c>: <c>train/nll</c> becomes <c>tinkerflow.train.nll</c>. Gauges are created as metrics first appear.
/// </remarks>
public sealed class MetricsMeter : IObserver<MetricRecord>, IDisposable
{
    /// <summary>The meter name to enable: <c>TinkerFlow.Dataflow</c>.</summary>
    public const string MeterName = "TinkerFlow.Dataflow";

    /// <summary>The name of the step counter instrument.</summary>
    public const string StepsInstrumentName = "tinkerflow.steps";

    private readonly Lock _gate = new();
    private readonly Meter _meter;
    private readonly Counter<long> _steps;
    private readonly Dictionary<string, double> _latest = new(StringComparer.Ordinal);

    /// <summary>Creates the meter.</summary>
    /// <param name="meterFactory">Creates the meter through DI when given; otherwise a standalone <see cref="Meter"/> is created.</param>
    public MetricsMeter(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        _steps = _meter.CreateCounter<long>(StepsInstrumentName, unit: "{step}", description: "Training steps whose metrics were published.");
    }

    /// <summary>The instrument name of a metric.</summary>
    /// <param name="metricName">A metric name such as <c>train/nll</c>.</param>
    /// <returns>E.g. <c>tinkerflow.train.nll</c>.</returns>
    public static string InstrumentNameFor(string metricName)
    {
        ArgumentException.ThrowIfNullOrEmpty(metricName);
        return "tinkerflow." + metricName.Replace('/', '.').Replace(':', '_');
    }

    /// <summary>Updates the gauges and counts the step.</summary>
    /// <param name="value">The record.</param>
    public void OnNext(MetricRecord value)
    {
        ArgumentNullException.ThrowIfNull(value);
        foreach (var (name, v) in value.Metrics)
        {
            bool created;
            lock (_gate)
            {
                created = !_latest.ContainsKey(name);
                _latest[name] = v;
            }

            if (created)
            {
                var key = name;
                _meter.CreateObservableGauge(InstrumentNameFor(name), () => Read(key));
            }
        }

        _steps.Add(1);
    }

    /// <summary>Ignored: gauges keep their last values.</summary>
    /// <param name="error">The pipeline's fault.</param>
    public void OnError(Exception error)
    {
    }

    /// <summary>Ignored: gauges keep their last values until disposed.</summary>
    public void OnCompleted()
    {
    }

    /// <summary>Disposes the meter.</summary>
    public void Dispose() => _meter.Dispose();

    private double Read(string name)
    {
        lock (_gate)
        {
            return _latest[name];
        }
    }
}
