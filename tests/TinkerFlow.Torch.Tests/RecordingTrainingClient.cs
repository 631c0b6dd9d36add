using TinkerFlow.Types;

namespace TinkerFlow.Torch.Tests;

/// <summary>A real training client that also records every forward and forward_backward request's data.</summary>
internal sealed class RecordingTrainingClient(TrainingClient inner) : TrainingClient
{
    public List<IReadOnlyList<Datum>> Forwards { get; } = [];

    public List<IReadOnlyList<Datum>> ForwardBackwards { get; } = [];

    public override string ModelId => inner.ModelId;

    public override string BaseModel => inner.BaseModel;

    public override Task<TinkerFuture<ForwardBackwardOutput>> ForwardAsync(WaitUntil waitUntil, IReadOnlyList<Datum> data, string lossFn, IReadOnlyDictionary<string, double>? lossFnConfig = null, CancellationToken cancellationToken = default)
    {
        Forwards.Add(data);
        return inner.ForwardAsync(waitUntil, data, lossFn, lossFnConfig, cancellationToken);
    }

    public override Task<TinkerFuture<ForwardBackwardOutput>> ForwardBackwardAsync(WaitUntil waitUntil, IReadOnlyList<Datum> data, string lossFn, IReadOnlyDictionary<string, double>? lossFnConfig = null, CancellationToken cancellationToken = default)
    {
        ForwardBackwards.Add(data);
        return inner.ForwardBackwardAsync(waitUntil, data, lossFn, lossFnConfig, cancellationToken);
    }

    public override Task<TinkerFuture<OptimStepResponse>> OptimStepAsync(WaitUntil waitUntil, AdamParams adamParams, CancellationToken cancellationToken = default) =>
        inner.OptimStepAsync(waitUntil, adamParams, cancellationToken);
}
