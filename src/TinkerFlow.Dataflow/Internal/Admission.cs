namespace TinkerFlow.Dataflow.Internal;

/// <summary>An item admitted to the rollout stage: its admission index and the training step it is destined for.</summary>
internal sealed record Admission<TItem>(TItem Item, long Index, int Step, int Minibatch);
