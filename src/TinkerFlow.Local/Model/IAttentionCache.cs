using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// Where attention keeps the keys and values of earlier tokens: <see cref="KvCache"/> (one batch decoded from a
/// common start) or <see cref="SlotKvCache"/> (the continuous batcher's rows, each at its own length).
/// </summary>
internal interface IAttentionCache
{
    /// <summary>
    /// Stores one layer's keys and values of the new tokens and returns everything the layer attends over.
    /// k, v: [B, Hkv, T, D] → [B, Hkv, S, D] views of the cache's storage (not to be disposed by the caller's owner).
    /// </summary>
    (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v);

    /// <summary>
    /// For a decode step of one new token in each of <paramref name="rows"/> rows: the number of columns every layer
    /// will then attend over (S, cached + new) when <see cref="AppendInPlace"/> can serve the step, that is when the
    /// storage is float32 on the CPU with <paramref name="kvHeads"/> heads of <paramref name="headDim"/>; null when it
    /// cannot, and the caller uses <see cref="Append"/>. Changes nothing.
    /// </summary>
    long? InPlaceDecodeSpan(long rows, long kvHeads, long headDim);

    /// <summary>
    /// <see cref="Append"/> for a decode step whose caller writes the new keys and values itself: makes room in
    /// <paramref name="layer"/> for one more token per row and says where it goes (see <see cref="DecodeSlots"/>).
    /// Call only after <see cref="InPlaceDecodeSpan"/> answered for the same rows, heads and width.
    /// </summary>
    DecodeSlots AppendInPlace(int layer, long kvHeads, long headDim);
}

/// <summary>
/// One layer's storage for a decode step written in place: row r's new key and value go to column
/// <see cref="ColumnOf"/>(r) of <see cref="Keys"/> and <see cref="Values"/>, after which the row attends over columns
/// 0 .. <see cref="Span"/> − 1 (those its mask allows).
/// </summary>
/// <param name="Keys">The layer's keys. [Rcap, Hkv, Scap, D] float32, contiguous, owned by the cache.</param>
/// <param name="Values">The layer's values. [Rcap, Hkv, Scap, D] float32, contiguous, owned by the cache.</param>
/// <param name="Span">Columns attended over, S.</param>
/// <param name="Column">The column of every row's new token, when <paramref name="Columns"/> is null.</param>
/// <param name="Columns">Each row's column of its new token, or null when all share <paramref name="Column"/>.</param>
internal readonly record struct DecodeSlots(Tensor Keys, Tensor Values, long Span, long Column, long[]? Columns)
{
    /// <summary>The column row <paramref name="row"/>'s new key and value go to.</summary>
    public long ColumnOf(int row) => Columns?[row] ?? Column;
}
