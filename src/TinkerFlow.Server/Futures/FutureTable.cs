using System.Collections.Concurrent;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Futures;

/// <summary>
/// In-flight and recent requests by request id. Results are turned into their JSON answer as soon as they complete
/// and kept for <see cref="ServerOptions.FutureRetention"/> afterwards, so a client whose poll timed out can ask again.
/// </summary>
internal sealed class FutureTable(TimeProvider time, TimeSpan retention)
{
    private readonly ConcurrentDictionary<string, FutureEntry> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    /// <summary>Registers a queued operation of <paramref name="owner"/>.</summary>
    public FutureEntry Add<T>(string owner, BackendOperation<T> operation)
    {
        var answer = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var entry = new FutureEntry(operation.RequestId, owner, answer.Task) { QueueStatus = operation.QueueStatus };
        _entries[operation.RequestId] = entry;
        _ = CompleteAsync(entry, answer, operation);
        return entry;
    }

    private async Task CompleteAsync<T>(FutureEntry entry, TaskCompletionSource<byte[]> answer, BackendOperation<T> operation)
    {
        var json = await AnswerAsync(operation.Result, operation.RequestId).ConfigureAwait(false);
        if (operation.Result.IsCompletedSuccessfully)
        {
            entry.Result = operation.Result.Result;
        }

        entry.CompletedAt = time.GetUtcNow();
        answer.SetResult(json);
    }

    /// <summary>The owner's request, or null (unknown, expired, or someone else's).</summary>
    public FutureEntry? Find(string requestId, string owner) =>
        _entries.TryGetValue(requestId, out var entry) && entry.Owner == owner ? entry : null;

    public bool Contains(string requestId) => _entries.ContainsKey(requestId);

    /// <summary>Drops answers delivered longer ago than the retention period.</summary>
    /// <returns>How many were dropped.</returns>
    public int Evict()
    {
        var cutoff = time.GetUtcNow() - retention;
        var removed = 0;
        foreach (var (id, entry) in _entries)
        {
            if (entry.CompletedAt is { } done && done < cutoff && _entries.TryRemove(id, out _))
            {
                removed++;
            }
        }

        return removed;
    }

    private static async Task<byte[]> AnswerAsync<T>(Task<T> result, string requestId)
    {
        try
        {
            var value = await result.ConfigureAwait(false);
            return TinkerJson.SerializeToUtf8Bytes(value);
        }
        catch (TinkerRequestException ex)
        {
            return Failed(ex.Message, ex.Category == RequestErrorCategory.Unknown ? RequestErrorCategory.Server : ex.Category);
        }
        catch (Exception ex)
        {
            return Failed($"Request {requestId} failed in the server: {ex.Message}", RequestErrorCategory.Server);
        }
    }

    private static byte[] Failed(string message, RequestErrorCategory category) => Http.ApiError.Body(message, category);
}
