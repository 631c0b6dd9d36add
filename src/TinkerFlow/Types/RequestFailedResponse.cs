namespace TinkerFlow.Types;

/// <summary>Poll answer "the job failed": <c>{"error":str,"category":"unknown"|"server"|"user"}</c>. Never retried.</summary>
public sealed record RequestFailedResponse
{
    /// <summary>What went wrong (<c>error</c>).</summary>
    public required string Error { get; init; }

    /// <summary>Who must act (<c>category</c>); unknown strings read as <see cref="RequestErrorCategory.Unknown"/>.</summary>
    public RequestErrorCategory Category { get; init; }
}
