namespace TinkerFlow.Dataflow;

/// <summary>Settings of a <see cref="TrainingPipeline"/>.</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="Batching"/></term><description>128 datums or 500,000 tokens per batch</description></item>
/// <item><term><see cref="Training"/></term><description><c>cross_entropy</c>, submit-ahead 1, no barriers</description></item>
/// <item><term><see cref="MaxSteps"/></term><description>null: until the source ends</description></item>
/// <item><term><see cref="CancellationToken"/></term><description>none</description></item>
/// </list>
/// </remarks>
public sealed record TrainingPipelineOptions
{
    /// <summary>How datums are grouped into batches (each batch is one minibatch of a step). Its token is replaced by <see cref="CancellationToken"/>.</summary>
    public DatumBatcherOptions Batching { get; init; } = new();

    /// <summary>The stage: loss, schedule, submit-ahead, first step, barriers. Its token is replaced by <see cref="CancellationToken"/>.</summary>
    public TrainingStageOptions Training { get; init; } = new();

    /// <summary>Train until this global step (exclusive); batches read beyond it are dropped. Null trains until the source ends.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Cancels the whole graph.</summary>
    public CancellationToken CancellationToken { get; init; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Batching, nameof(Batching));
        ArgumentNullException.ThrowIfNull(Training, nameof(Training));
        Batching.Validate();
        Training.Validate();
        if (MaxSteps is { } max && max < Training.FirstStep)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSteps), max, $"MaxSteps ({max}) is before the first step ({Training.FirstStep}).");
        }
    }
}
