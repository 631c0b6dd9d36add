namespace TinkerFlow.Server.Tests.Faults;

/// <summary>What a fault plan knows about one HTTP attempt.</summary>
/// <param name="Endpoint">The path after <c>/api/v1/</c>, e.g. <c>forward_backward</c>.</param>
/// <param name="SeqId">The body's <c>seq_id</c>, when it has one.</param>
/// <param name="Attempt">Earlier attempts of the same (endpoint, seq_id): 0 for the first.</param>
/// <param name="Poll">The 1-based number of this <c>retrieve_future</c> among all polls so far (0 for other endpoints).</param>
internal sealed record FaultRequest(string Endpoint, int? SeqId, int Attempt, int Poll);
