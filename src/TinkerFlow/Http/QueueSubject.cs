namespace TinkerFlow.Http;

/// <summary>What a future belongs to, for queue-state warnings: a training model, a sampler, or a model creation.</summary>
/// <param name="Kind">Which kind of client waits.</param>
/// <param name="Id">The model id, sampling session id, or base model being created.</param>
internal readonly record struct QueueSubject(QueueSubjectKind Kind, string Id);
