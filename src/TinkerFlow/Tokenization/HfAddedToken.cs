namespace TinkerFlow.Tokenization;

/// <summary>
/// An entry of <c>tokenizer.json</c>'s <c>added_tokens</c>: text matched as one token before BPE runs.
/// </summary>
/// <param name="Id">The token id.</param>
/// <param name="Content">The token text, e.g. <c>&lt;|im_start|&gt;</c>.</param>
/// <param name="Special">
/// The file's <c>special</c> flag: special tokens are dropped by <see cref="HfTokenizer.Decode(IEnumerable{int}, bool)"/>
/// with <c>skipSpecialTokens</c>; non-special added tokens (Qwen3's <c>&lt;think&gt;</c>) are kept.
/// </param>
internal readonly record struct HfAddedToken(int Id, string Content, bool Special);
