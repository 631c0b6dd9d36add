namespace TinkerFlow.Cookbook.Renderers;

/// <summary>
/// One message rendered to tokens, in the three parts the weighting rules distinguish (the cookbook's
/// <c>RenderedMessage</c>).
/// </summary>
/// <param name="Header">Role markers the prompt supplies (e.g. <c>&lt;|im_start|&gt;assistant\n</c>); weight 1 only under <see cref="TrainOnWhat.AllTokens"/>.</param>
/// <param name="Output">What the speaker produces, ending with the end-of-turn token; weighted by the <see cref="TrainOnWhat"/> rule.</param>
/// <param name="StopOverlap">Tokens the next header shares with the stop sequence (role-colon's <c>User:</c>); appended only after the last message, so the model learns to emit the stop.</param>
public sealed record RenderedMessage(IReadOnlyList<int> Header, IReadOnlyList<int> Output, IReadOnlyList<int> StopOverlap);
