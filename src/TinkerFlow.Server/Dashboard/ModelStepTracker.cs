using System.Text;
using System.Text.Json;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// One model's engine metrics between two optim_steps: the forward_backward batches that completed (loss sum, tokens,
/// weights), the training requests still in flight, and the step counter. <see cref="OptimStepDone"/> turns the tally
/// into one <c>metrics.jsonl</c> line and starts the next step.
/// </summary>
internal sealed class ModelStepTracker(long firstStep)
{
    private readonly Lock _gate = new();
    private long _step = firstStep;
    private int _inFlight;
    private long? _stepStart;
    private double _lossSum;
    private double _weightSum;
    private long _tokens;
    private int _datums;
    private int _minibatches;
    private bool _allCrossEntropy = true;

    /// <summary>Serialises appends to the model's file.</summary>
    public Lock FileGate { get; } = new();

    /// <summary>Training requests submitted and not yet completed.</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    public void Submitted(long timestamp)
    {
        lock (_gate)
        {
            _inFlight++;
            _stepStart ??= timestamp;
        }
    }

    /// <summary>Adds a completed forward_backward (null metrics: it failed and only leaves the in-flight count).</summary>
    public void ForwardBackwardDone(BatchTally batch, IReadOnlyDictionary<string, double>? metrics)
    {
        lock (_gate)
        {
            _inFlight--;
            if (metrics is null)
            {
                return;
            }

            _lossSum += metrics.GetValueOrDefault("loss:sum");
            _weightSum += batch.WeightSum;
            _tokens += batch.Tokens;
            _datums += batch.Datums;
            _minibatches++;
            _allCrossEntropy &= batch.CrossEntropy;
        }
    }

    /// <summary>Closes the step: the JSON line of its metrics, or null when the optim_step failed.</summary>
    /// <param name="learningRate">The step's Adam learning rate.</param>
    /// <param name="metrics">optim_step's metrics (e.g. <c>grad_norm:mean</c>); null: it failed.</param>
    /// <param name="elapsed">Converts the step's start timestamp into its duration.</param>
    /// <param name="timestamp">Now, as a <see cref="TimeProvider"/> timestamp (the next step starts here).</param>
    public string? OptimStepDone(double learningRate, IReadOnlyDictionary<string, double>? metrics, Func<long, TimeSpan> elapsed, long timestamp)
    {
        lock (_gate)
        {
            _inFlight--;
            if (metrics is null)
            {
                return null;
            }

            var values = new SortedDictionary<string, double>(StringComparer.Ordinal)
            {
                ["optim/lr"] = learningRate,
                ["progress/requests_in_flight"] = _inFlight,
                ["num_sequences"] = _datums,
                ["train/num_minibatches"] = _minibatches,
                ["num_tokens"] = _tokens,
            };
            if (_minibatches > 0)
            {
                values["train/loss_sum"] = _lossSum;
                var perToken = _weightSum > 0 ? _weightSum : _tokens;
                if (perToken > 0)
                {
                    values["train/loss_per_token"] = _lossSum / perToken;
                }

                if (_allCrossEntropy && _weightSum > 0)
                {
                    values["train_mean_nll"] = _lossSum / _weightSum;
                }
            }

            foreach (var (key, value) in metrics)
            {
                var colon = key.IndexOf(':', StringComparison.Ordinal);
                values[$"optim/{(colon > 0 ? key[..colon] : key)}"] = value;
            }

            if (_stepStart is { } start)
            {
                var seconds = elapsed(start).TotalSeconds;
                values["time/step"] = seconds;
                if (seconds > 0 && _tokens > 0)
                {
                    values["throughput/tokens_per_s"] = _tokens / seconds;
                }
            }

            var line = Format(_step, values);
            _step++;
            _stepStart = timestamp;
            (_lossSum, _weightSum, _tokens, _datums, _minibatches, _allCrossEntropy) = (0, 0, 0, 0, 0, true);
            return line;
        }
    }

    private static string Format(long step, IEnumerable<KeyValuePair<string, double>> values)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("step", step);
            foreach (var (key, value) in values)
            {
                if (double.IsFinite(value))
                {
                    json.WriteNumber(key, value);
                }
                else
                {
                    json.WriteNull(key);
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
