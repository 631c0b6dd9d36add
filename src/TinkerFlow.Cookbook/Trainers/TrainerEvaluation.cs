namespace TinkerFlow.Cookbook.Trainers;

/// <summary>An evaluation a trainer runs at step boundaries, on the weights after exactly that many steps.</summary>
/// <param name="Name">For descriptions, e.g. <c>test/nll</c>.</param>
/// <param name="RunAsync">Scores the current weights; returns metrics (e.g. <c>test/nll</c>).</param>
public sealed record TrainerEvaluation(string Name, Func<TrainingClient, CancellationToken, Task<IReadOnlyDictionary<string, double>>> RunAsync);
