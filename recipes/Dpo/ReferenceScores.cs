using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Types;

namespace TinkerFlow.Recipes.Dpo;

/// <summary>
/// Pairs → datums with their reference scores attached (s^ref = Σ_t w_t·logp_ref(target_t) under the base model),
/// each pair scored once and cached in memory and in <c>log_path/reference_logprobs.jsonl</c>, so a resumed run neither
/// recomputes nor drifts from them.
/// </summary>
internal sealed class ReferenceScores
{
    private readonly SamplingClient _reference;
    private readonly Renderer _renderer;
    private readonly string _file;
    private readonly ConcurrentDictionary<int, (double Chosen, double Rejected)> _cache = new();

    public ReferenceScores(SamplingClient reference, Renderer renderer, string file)
    {
        _reference = reference;
        _renderer = renderer;
        _file = file;
        if (File.Exists(file))
        {
            foreach (var row in File.ReadLines(file).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!))
            {
                _cache[(int)row["pair"]!] = ((double)row["chosen"]!, (double)row["rejected"]!);
            }
        }
    }

    public (double Chosen, double Rejected) this[PreferencePair pair] => _cache[pair.Index];

    /// <summary>[chosen₀, rejected₀, …], weight 1 on the answer tokens and 0 on the prompt, without reference scores.</summary>
    public IReadOnlyList<Datum> ToData(IEnumerable<PreferencePair> pairs) =>
        [.. pairs.SelectMany(p => new[] { ToDatum(p, p.Chosen), ToDatum(p, p.Rejected) })];

    /// <summary>The datums of <paramref name="pairs"/> with <see cref="DpoLoss.ReferenceScoreKey"/> attached (it never leaves the client).</summary>
    public async Task<IReadOnlyList<Datum>> ScoredDataAsync(IReadOnlyList<PreferencePair> pairs, CancellationToken cancellationToken)
    {
        var data = ToData(pairs);
        var missing = pairs.Select((p, i) => (p, i)).Where(x => !_cache.ContainsKey(x.p.Index)).ToList();
        var computed = await Task.WhenAll(missing.Select(async x =>
            (x.p.Index, Chosen: await ScoreAsync(data[2 * x.i], cancellationToken), Rejected: await ScoreAsync(data[(2 * x.i) + 1], cancellationToken))));
        foreach (var (index, chosen, rejected) in computed)
        {
            _cache[index] = (chosen, rejected);
        }

        await File.AppendAllLinesAsync(_file, computed.Select(c => new JsonObject { ["pair"] = c.Index, ["chosen"] = c.Chosen, ["rejected"] = c.Rejected }.ToJsonString()), cancellationToken);
        var scores = pairs.SelectMany(p => new[] { _cache[p.Index].Chosen, _cache[p.Index].Rejected }).ToList();
        return [.. data.Select((d, i) => DpoLoss.WithReferenceScore(d, scores[i]))];
    }

    private Datum ToDatum(PreferencePair pair, string answer)
    {
        var (tokens, weights) = _renderer.BuildSupervisedExample([.. pair.Prompt, Message.Assistant(answer)]);
        return DatumBuilder.FromModelInputWeights(tokens, weights, reduction: Reduction.Sum);
    }

    private async Task<double> ScoreAsync(Datum datum, CancellationToken cancellationToken)
    {
        var logprobs = (await KlPenalty.ComputeReferenceLogprobsAsync(_reference, [datum], cancellationToken))[0];
        return DpoLoss.Score(logprobs, datum.LossFnInputs["weights"].ToFloat32Array());
    }
}
