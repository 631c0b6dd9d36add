using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>Submits one minibatch's forward_backward and returns its future (e.g. a client-side TorchSharp loss).</summary>
/// <param name="client">The training client.</param>
/// <param name="minibatch">The minibatch.</param>
/// <param name="cancellationToken">Cancelled when the graph stops.</param>
/// <returns>The queued forward_backward.</returns>
public delegate Task<TinkerFuture<ForwardBackwardOutput>> ForwardBackwardSubmitter(TrainingClient client, IReadOnlyList<Datum> minibatch, CancellationToken cancellationToken);

/// <summary>
/// The loss a <see cref="TrainingStage"/> trains with: a built-in <see cref="LossFnType"/> (computed on the server) or
/// a custom submission (computed on the client, e.g. <c>TinkerFlow.Torch</c>'s <c>ForwardBackwardCustomAsync</c>).
/// </summary>
/// <example>
/// <code>
/// TrainingLoss.BuiltIn(LossFnType.Ppo, new Dictionary&lt;string, double&gt; { ["clip_high_threshold"] = 1.28 });
/// TrainingLoss.Custom("dpo", (client, data, ct) =&gt; client.ForwardBackwardCustomAsync(WaitUntil.Started, data, DpoLoss, ct));
/// </code>
/// </example>
public sealed class TrainingLoss
{
    private readonly ForwardBackwardSubmitter _submit;

    private TrainingLoss(string name, bool isBuiltIn, IReadOnlyDictionary<string, double>? config, ForwardBackwardSubmitter submit)
    {
        Name = name;
        IsBuiltIn = isBuiltIn;
        Config = config;
        _submit = submit;
    }

    /// <summary>The built-in <c>cross_entropy</c> loss.</summary>
    public static TrainingLoss CrossEntropy { get; } = BuiltIn(LossFnType.CrossEntropy);

    /// <summary>The loss's name: the <see cref="LossFnType"/> value, or the custom loss's name.</summary>
    public string Name { get; }

    /// <summary>True for a server-side <see cref="LossFnType"/>.</summary>
    public bool IsBuiltIn { get; }

    /// <summary>The built-in loss's <c>loss_fn_config</c>, or null.</summary>
    public IReadOnlyDictionary<string, double>? Config { get; }

    /// <summary>True for the built-in <c>cross_entropy</c>, whose per-token logprobs give <see cref="MetricNames.TrainNll"/>.</summary>
    public bool IsCrossEntropy => IsBuiltIn && Name == LossFnType.CrossEntropy;

    /// <summary>A server-side loss.</summary>
    /// <param name="lossFn">One of <see cref="LossFnType.All"/>.</param>
    /// <param name="config">Its <c>loss_fn_config</c> (e.g. PPO clip thresholds), or null.</param>
    /// <returns>The loss.</returns>
    /// <exception cref="ArgumentException">An unknown loss name.</exception>
    public static TrainingLoss BuiltIn(string lossFn, IReadOnlyDictionary<string, double>? config = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lossFn);
        if (!LossFnType.IsKnown(lossFn))
        {
            throw new ArgumentException($"Unknown loss '{lossFn}'. Use one of: {string.Join(", ", LossFnType.All)}, or TrainingLoss.Custom.", nameof(lossFn));
        }

        return new TrainingLoss(lossFn, true, config, (client, data, ct) => client.ForwardBackwardAsync(WaitUntil.Started, data, lossFn, config, ct));
    }

    /// <summary>A client-side loss: <paramref name="submit"/> queues each minibatch's forward_backward itself.</summary>
    /// <param name="name">A name for metrics and <c>--describe</c>.</param>
    /// <param name="submit">Submits one minibatch; it may await its forward pass before returning.</param>
    /// <returns>The loss.</returns>
    public static TrainingLoss Custom(string name, ForwardBackwardSubmitter submit)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(submit);
        return new TrainingLoss(name, false, null, submit);
    }

    /// <summary>Submits one minibatch.</summary>
    /// <param name="client">The training client.</param>
    /// <param name="minibatch">The datums.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued forward_backward.</returns>
    public Task<TinkerFuture<ForwardBackwardOutput>> SubmitAsync(TrainingClient client, IReadOnlyList<Datum> minibatch, CancellationToken cancellationToken) =>
        _submit(client, minibatch, cancellationToken);

    /// <summary>The name, with the config when there is one.</summary>
    /// <returns>E.g. <c>ppo {clip_high_threshold=1.28}</c> or <c>custom dpo</c>.</returns>
    public override string ToString() =>
        !IsBuiltIn ? $"custom {Name}"
        : Config is { Count: > 0 } c ? $"{Name} {{{string.Join(", ", c.Select(kv => FormattableString.Invariant($"{kv.Key}={kv.Value}")))}}}"
        : Name;
}
