using System.Security.Cryptography;

namespace TinkerFlow.Server.Futures;

/// <summary>
/// De-duplicates replayed submissions by <c>(owner, model_id, seq_id)</c> / <c>(owner, sampling_session_id, seq_id)</c>
/// (wire-protocol §12 item 2): the same body again gets the first request's id without running twice; a different
/// body under a used key is a conflict.
/// </summary>
internal sealed class ReplayTable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (byte[] Hash, Task<string> RequestId)> _entries = new(StringComparer.Ordinal);

    /// <summary>What happened to a submission.</summary>
    public enum Outcome
    {
        /// <summary>Submitted now.</summary>
        New,

        /// <summary>A replay of an earlier identical submission.</summary>
        Replayed,

        /// <summary>The key was used before with a different body.</summary>
        Conflict,
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Runs <paramref name="submit"/> unless <paramref name="key"/> was seen; returns the request id to answer with.</summary>
    public async Task<(Outcome Outcome, string? RequestId)> SubmitAsync(string key, byte[] body, Func<Task<string>> submit)
    {
        var hash = SHA256.HashData(body);
        Task<string>? earlier = null;
        TaskCompletionSource<string>? mine = null;
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var entry))
            {
                if (!CryptographicOperations.FixedTimeEquals(entry.Hash, hash))
                {
                    return (Outcome.Conflict, null);
                }

                earlier = entry.RequestId;
            }
            else
            {
                mine = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                _entries[key] = (hash, mine.Task);
            }
        }

        if (earlier is not null)
        {
            return (Outcome.Replayed, await earlier.ConfigureAwait(false));
        }

        try
        {
            var requestId = await submit().ConfigureAwait(false);
            mine!.SetResult(requestId);
            return (Outcome.New, requestId);
        }
        catch (Exception ex)
        {
            // A submission that was refused outright leaves no trace: the client may send it again.
            lock (_gate)
            {
                _entries.Remove(key);
            }

            mine!.SetException(ex);
            throw;
        }
    }

    /// <summary>Forgets keys whose request is no longer retrievable.</summary>
    public int Evict(Func<string, bool> stillKnown)
    {
        lock (_gate)
        {
            var stale = _entries
                .Where(kv => kv.Value.RequestId.IsCompleted && (!kv.Value.RequestId.IsCompletedSuccessfully || !stillKnown(kv.Value.RequestId.Result)))
                .Select(kv => kv.Key)
                .ToList();
            foreach (var key in stale)
            {
                _entries.Remove(key);
            }

            return stale.Count;
        }
    }
}
