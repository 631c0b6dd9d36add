namespace TinkerFlow.Dataflow;

/// <summary>Settings of <see cref="DatumBatcher.Build"/>.</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="MaxItems"/></term><description>128 datums</description></item>
/// <item><term><see cref="MaxTokens"/></term><description>500,000 model-input tokens</description></item>
/// <item><term><see cref="InputCapacity"/></term><description>256 datums</description></item>
/// <item><term><see cref="OutputCapacity"/></term><description>2 batches</description></item>
/// <item><term><see cref="CancellationToken"/></term><description>none</description></item>
/// </list>
/// </remarks>
public sealed record DatumBatcherOptions
{
    /// <summary>A batch closes once it holds this many datums (the cookbook's batch size). Must be at least 1.</summary>
    public int MaxItems { get; init; } = 128;

    /// <summary>
    /// A batch closes before a datum that would take its model-input token count above this. A single datum longer than
    /// this travels alone. Must be at least 1.
    /// </summary>
    public int MaxTokens { get; init; } = 500_000;

    /// <summary>Datums the batcher buffers before <c>SendAsync</c> waits (back-pressure on the producer).</summary>
    public int InputCapacity { get; init; } = 256;

    /// <summary>Closed batches the batcher holds before it stops reading datums (back-pressure from the trainer).</summary>
    public int OutputCapacity { get; init; } = 2;

    /// <summary>Cancels the batcher: its completion ends in the cancelled state.</summary>
    public CancellationToken CancellationToken { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxItems, 1, nameof(MaxItems));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTokens, 1, nameof(MaxTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(InputCapacity, 1, nameof(InputCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(OutputCapacity, 1, nameof(OutputCapacity));
    }
}
