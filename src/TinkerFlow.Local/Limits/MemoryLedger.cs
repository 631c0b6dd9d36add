using TinkerFlow.Types;

namespace TinkerFlow.Local.Limits;

/// <summary>
/// The engine's account of the memory requests hold on top of the base models (adapters, optimizer state, sample KV
/// caches), per user and in total. A request reserves its estimate before allocating; a refused reservation changes
/// nothing. Thread-safe.
/// </summary>
internal sealed class MemoryLedger(Func<ResourceLimits> limits)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _byUser = new(StringComparer.Ordinal);
    private long _total;

    /// <summary>Bytes reserved in total.</summary>
    public long TotalBytes
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    /// <summary>Bytes reserved by <paramref name="user"/>.</summary>
    public long UserBytes(string user)
    {
        lock (_lock)
        {
            return _byUser.GetValueOrDefault(user);
        }
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/> for <paramref name="user"/>, or throws a 429 user error naming the budget, the
    /// request's estimate and the setting that raises it (waiting helps: reservations are released as models unload and
    /// samples finish).
    /// </summary>
    /// <param name="user">The owner.</param>
    /// <param name="bytes">The estimate.</param>
    /// <param name="what">What the bytes are for, e.g. <c>create_model (rank 16 adapter + AdamW state)</c>.</param>
    /// <returns>The reservation; dispose it to release.</returns>
    public Reservation Reserve(string user, long bytes, string what)
    {
        var l = limits();
        long serverBudget = l.EffectiveMemoryBudgetBytes;
        long userBudget = l.EffectiveUserMemoryBudgetBytes;
        lock (_lock)
        {
            long mine = _byUser.GetValueOrDefault(user);
            if (bytes > userBudget - mine)
            {
                throw Refusal(
                    $"{what} needs an estimated {MemoryEstimator.Format(bytes)}, but this user already holds {MemoryEstimator.Format(mine)} of the per-user memory budget of {MemoryEstimator.Format(userBudget)}. " +
                    "Unload models or close samplers you no longer need, or raise the limit (server: --user-memory-budget; engine: ResourceLimits.UserMemoryBudgetBytes).",
                    bytes > userBudget);
            }

            if (bytes > serverBudget - _total)
            {
                throw Refusal(
                    $"{what} needs an estimated {MemoryEstimator.Format(bytes)}, but only {MemoryEstimator.Format(Math.Max(0, serverBudget - _total))} of the server's memory budget of {MemoryEstimator.Format(serverBudget)} is free. " +
                    "Retry later, or raise the limit (server: --memory-budget; engine: ResourceLimits.MemoryBudgetBytes).",
                    bytes > serverBudget);
            }

            _byUser[user] = mine + bytes;
            _total += bytes;
        }

        return new Reservation(this, user, bytes);
    }

    private void Release(string user, long bytes)
    {
        lock (_lock)
        {
            var left = _byUser.GetValueOrDefault(user) - bytes;
            if (left <= 0)
            {
                _byUser.Remove(user);
            }
            else
            {
                _byUser[user] = left;
            }

            _total -= bytes;
        }
    }

    /// <summary>More than the whole budget can never fit (400); otherwise waiting may help (429).</summary>
    private static TinkerRequestException Refusal(string message, bool never) =>
        new(message, RequestErrorCategory.User, status: never ? 400 : 429);

    /// <summary>Memory held for one model, sampler or request; disposing releases it (once).</summary>
    public sealed class Reservation(MemoryLedger ledger, string user, long bytes) : IDisposable
    {
        private int _released;

        /// <summary>The reserved bytes.</summary>
        public long Bytes => bytes;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                ledger.Release(user, bytes);
            }
        }
    }
}
