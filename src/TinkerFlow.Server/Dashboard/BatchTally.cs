using TinkerFlow.Types;

namespace TinkerFlow.Server.Dashboard;

/// <summary>The size of one forward_backward batch: datums, model-input tokens and the sum of its loss weights.</summary>
/// <param name="Datums">Datums in the batch.</param>
/// <param name="Tokens">Model-input tokens over all datums.</param>
/// <param name="WeightSum">Σ <c>weights</c> over all datums (0 when the loss has no weights input).</param>
/// <param name="CrossEntropy">Whether the loss is <c>cross_entropy</c>, so loss / Σ weights is a mean NLL.</param>
internal readonly record struct BatchTally(int Datums, long Tokens, double WeightSum, bool CrossEntropy)
{
    public static BatchTally Of(ForwardBackwardInput input)
    {
        long tokens = 0;
        double weights = 0;
        foreach (var datum in input.Data)
        {
            tokens += datum.ModelInput.Length;
            if (datum.LossFnInputs.TryGetValue("weights", out var w) && w.Dtype == TensorDType.Float32)
            {
                foreach (var value in w.AsFloat32Span())
                {
                    weights += value;
                }
            }
        }

        return new BatchTally(input.Data.Count, tokens, weights, input.LossFn == "cross_entropy");
    }
}
