using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Types;

namespace TinkerFlow.Recipes.MathRl;

/// <summary>
/// Chat-format arithmetic for the SFT warm-start: batch i holds the problems of stream step −1 − i, a stream the RL
/// steps never draw from, with the held-out problems excluded.
/// </summary>
internal sealed class WarmStartDataset(Renderer renderer, long seed, int steps, int batchSize, IReadOnlySet<ArithmeticProblem> exclude) : SupervisedDataset
{
    public override int Count => steps;

    public override IReadOnlyList<Datum> GetBatch(int index) =>
        [.. ArithmeticProblem.ForStep(seed, -1 - index, batchSize, exclude)
            .Select(p => DatumBuilder.ConversationToDatum(renderer, [Message.User(p.Question), Message.Assistant(p.Answer)]))];
}
