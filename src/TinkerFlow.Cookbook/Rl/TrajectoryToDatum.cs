using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Rl;

/// <summary>
/// Turns trajectories into policy-gradient datums (the cookbook's <c>trajectory_to_data</c> and
/// <c>assemble_training_data</c>).
/// </summary>
/// <remarks>
/// Transitions are walked in order. When the sequence so far (observations plus actions) is a prefix of the next
/// observation, only the new observation tokens and the action are appended, so a multi-turn episode whose renderer
/// has the extension property becomes one datum; otherwise the current datum is closed and a new one starts. Per
/// position: sampler logprob (0 on observations), advantage (0 on observations and masked actions) and mask (1 on
/// trained actions). Everything is then shifted by one as in SFT: position i of the input predicts
/// <c>target_tokens[i]</c>, whose sampler logprob is <c>logprobs[i]</c>.
/// </remarks>
public static class TrajectoryToDatum
{
    /// <summary>Converts one trajectory, broadcasting its scalar advantage to every action token.</summary>
    /// <param name="trajectory">The trajectory.</param>
    /// <param name="advantage">The trajectory's advantage.</param>
    /// <returns>One datum, or several when an observation does not extend the previous sequence.</returns>
    public static IReadOnlyList<RlDatum> Convert(Trajectory trajectory, double advantage)
    {
        ArgumentNullException.ThrowIfNull(trajectory);
        var data = new List<RlDatum>();
        var builder = new Builder();
        foreach (var transition in trajectory.Transitions)
        {
            ArgumentNullException.ThrowIfNull(transition);
            var observation = Flatten(transition.Observation);
            if (!builder.IsEmpty && !builder.IsPrefixOf(observation))
            {
                data.Add(builder.Build());
                builder = new Builder();
            }

            builder.AppendObservation(observation);
            builder.AppendAction(transition.Action, transition.MaskAction ? 0f : (float)advantage, transition.MaskAction);
        }

        if (!builder.IsEmpty)
        {
            data.Add(builder.Build());
        }

        return data;
    }

    /// <summary>The single-turn case: a prompt and one sampled completion.</summary>
    /// <param name="prompt">The prompt the completion was sampled from.</param>
    /// <param name="completion">The sampled tokens and their sampler logprobs.</param>
    /// <param name="advantage">The completion's advantage.</param>
    /// <returns>The datum (prompt length + completion length − 1 positions).</returns>
    public static RlDatum FromPromptAndCompletion(ModelInput prompt, TokensWithLogprobs completion, double advantage) =>
        Convert(new Trajectory([new Transition(prompt, completion, 0, EpisodeDone: true)]), advantage).Single();

    /// <summary>
    /// Assembles a training batch from groups: group-relative advantages per group, then every trajectory's datums.
    /// </summary>
    /// <param name="groups_P">The trajectory groups (one per problem).</param>
    /// <param name="normalizeStd">Divide advantages by the group std (see <see cref="GroupAdvantages"/>).</param>
    /// <returns><c>datums_D</c>, and for each datum the index of its group in <paramref name="groups_P"/>.</returns>
    public static (IReadOnlyList<RlDatum> Datums, IReadOnlyList<int> GroupIndices) FromGroups(IReadOnlyList<TrajectoryGroup> groups_P, bool normalizeStd = false)
    {
        ArgumentNullException.ThrowIfNull(groups_P);
        var datums_D = new List<RlDatum>();
        var groupIndex_D = new List<int>();
        for (var p = 0; p < groups_P.Count; p++)
        {
            var advantages_G = GroupAdvantages.Compute(groups_P[p], normalizeStd);
            for (var g = 0; g < advantages_G.Length; g++)
            {
                foreach (var datum in Convert(groups_P[p].Trajectories[g], advantages_G[g]))
                {
                    datums_D.Add(datum);
                    groupIndex_D.Add(p);
                }
            }
        }

        return (datums_D, groupIndex_D);
    }

    private static List<object> Flatten(ModelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var items = new List<object>(input.Length);
        foreach (var chunk in input.Chunks)
        {
            if (chunk is EncodedTextChunk text)
            {
                foreach (var token in text.Tokens)
                {
                    items.Add(token);
                }
            }
            else
            {
                items.Add(chunk);
            }
        }

        return items;
    }

    /// <summary>Accumulates one datum: items are token ids (int) or whole non-text chunks.</summary>
    private sealed class Builder
    {
        private readonly List<object> _items = [];
        private readonly List<float> _logprobs = [];
        private readonly List<float> _advantages = [];
        private readonly List<float> _mask = [];

        public bool IsEmpty => _items.Count == 0;

        public bool IsPrefixOf(List<object> observation)
        {
            if (observation.Count < _items.Count)
            {
                return false;
            }

            for (var i = 0; i < _items.Count; i++)
            {
                if (!Equals(_items[i], observation[i]))
                {
                    return false;
                }
            }

            return true;
        }

        public void AppendObservation(List<object> observation)
        {
            for (var i = _items.Count; i < observation.Count; i++)
            {
                _items.Add(observation[i]);
                var width = observation[i] is ModelInputChunk chunk ? chunk.Length : 1;
                for (var k = 0; k < width; k++)
                {
                    _logprobs.Add(0f);
                    _advantages.Add(0f);
                    _mask.Add(0f);
                }
            }
        }

        public void AppendAction(TokensWithLogprobs action, float advantage, bool masked)
        {
            ArgumentNullException.ThrowIfNull(action);
            if (action.Logprobs.Count != action.Tokens.Count)
            {
                throw new ArgumentException($"The action has {action.Tokens.Count} tokens but {action.Logprobs.Count} logprobs; pass one sampler logprob per sampled token.");
            }

            for (var i = 0; i < action.Tokens.Count; i++)
            {
                _items.Add(action.Tokens[i]);
                _logprobs.Add((float)action.Logprobs[i]);
                _advantages.Add(advantage);
                _mask.Add(masked ? 0f : 1f);
            }
        }

        public RlDatum Build()
        {
            var chunks = new List<ModelInputChunk>();
            var run = new List<int>();
            foreach (var item in _items)
            {
                if (item is int token)
                {
                    run.Add(token);
                    continue;
                }

                if (run.Count > 0)
                {
                    chunks.Add(new EncodedTextChunk(run.ToArray()));
                    run.Clear();
                }

                chunks.Add((ModelInputChunk)item);
            }

            if (run.Count > 0)
            {
                chunks.Add(new EncodedTextChunk(run.ToArray()));
            }

            var (kept, length) = ChunkSequence.Truncate(chunks, maxLength: null);
            if (length < 2)
            {
                throw new ArgumentException($"A trajectory segment has {length} position(s) ending in a token; a datum needs at least 2 (one input, one target).");
            }

            var (input, targets) = ChunkSequence.Shift(kept, length);
            var mask = _mask.GetRange(1, length - 1).ToArray();
            var datum = new Datum
            {
                ModelInput = input,
                LossFnInputs = new Dictionary<string, TensorData>
                {
                    ["target_tokens"] = TensorData.FromInt64(targets),
                    ["logprobs"] = TensorData.FromFloat32(_logprobs.GetRange(1, length - 1).ToArray()),
                    ["advantages"] = TensorData.FromFloat32(_advantages.GetRange(1, length - 1).ToArray()),
                },
            };
            return new RlDatum(datum, mask);
        }
    }
}
