namespace TinkerFlow.Cookbook.Data;

/// <summary>
/// A small deterministic random generator (SplitMix64) whose whole state is one number, so a checkpoint can record it
/// and a resumed run continues the same stream. The sequence for a seed is fixed by this code, not by the .NET version.
/// </summary>
public sealed class SeededRandom
{
    /// <summary>Creates a generator at the start of <paramref name="seed"/>'s stream.</summary>
    /// <param name="seed">The seed.</param>
    public SeededRandom(long seed)
    {
        Seed = seed;
        State = unchecked((ulong)seed);
    }

    private SeededRandom(long seed, ulong state)
    {
        Seed = seed;
        State = state;
    }

    /// <summary>The seed this stream started from.</summary>
    public long Seed { get; }

    /// <summary>The current state; with <see cref="Seed"/>, everything <see cref="FromState"/> needs to continue.</summary>
    public ulong State { get; private set; }

    /// <summary>Recreates a generator mid-stream, e.g. from a checkpoint's <c>rng_seed</c> and <c>rng_state</c>.</summary>
    /// <param name="seed">The original seed.</param>
    /// <param name="state">The saved <see cref="State"/>.</param>
    /// <returns>A generator that continues exactly where the saved one was.</returns>
    public static SeededRandom FromState(long seed, ulong state) => new(seed, state);

    /// <summary>A permutation of 0..n−1, the same for the same seed (Fisher–Yates over this generator).</summary>
    /// <param name="count">n.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The permuted indices.</returns>
    public static int[] Permutation(int count, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        new SeededRandom(seed).Shuffle(order);
        return order;
    }

    /// <summary>The next 64 random bits.</summary>
    /// <returns>A uniformly distributed 64-bit value.</returns>
    public ulong NextUInt64()
    {
        unchecked
        {
            State += 0x9E3779B97F4A7C15UL;
            var z = State;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    /// <param name="maxExclusive">The exclusive upper bound, at least 1.</param>
    /// <returns>The integer.</returns>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1);
        var bound = (ulong)maxExclusive;
        var limit = ulong.MaxValue - (ulong.MaxValue % bound);
        ulong value;
        do
        {
            value = NextUInt64();
        }
        while (value >= limit);

        return (int)(value % bound);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    /// <returns>The double.</returns>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Shuffles a list in place (Fisher–Yates).</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="list">The list.</param>
    public void Shuffle<T>(IList<T> list)
    {
        ArgumentNullException.ThrowIfNull(list);
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
