using TinkerFlow.Types;

namespace TinkerFlow.Http;

/// <summary>A request that never got an HTTP answer: connection failure or client-side timeout.</summary>
internal sealed class TinkerConnectionException : TinkerRequestException
{
    public TinkerConnectionException(string message, bool isTimeout, Exception? innerException = null)
        : base(message, RequestErrorCategory.Unknown, status: null, innerException: innerException)
    {
        IsTimeout = isTimeout;
    }

    /// <summary>True when the client gave up waiting (as opposed to the connection failing).</summary>
    public bool IsTimeout { get; }
}
