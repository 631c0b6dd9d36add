namespace TinkerFlow.Local.Model;

/// <summary>
/// The <c>rope_scaling</c> block of a Hugging Face config: <c>linear</c> (every frequency divided by <see cref="Factor"/>)
/// or <c>llama3</c> (low frequencies divided by <see cref="Factor"/>, high ones kept, a smooth blend between).
/// </summary>
/// <param name="Type">"linear" or "llama3" (from <c>rope_type</c>, or the older <c>type</c>).</param>
/// <param name="Factor">The context extension factor.</param>
/// <param name="LowFreqFactor">llama3 only: wavelengths above original_max / low_freq_factor are fully scaled.</param>
/// <param name="HighFreqFactor">llama3 only: wavelengths below original_max / high_freq_factor are left alone.</param>
/// <param name="OriginalMaxPositionEmbeddings">llama3 only: the context length the model was pre-trained with.</param>
internal sealed record RopeScaling(
    string Type,
    double Factor,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositionEmbeddings = 8192);
