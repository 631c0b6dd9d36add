using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Evaluation;

/// <summary>
/// Evaluates by generation: renders each problem's prompt, samples one response from a <see cref="SamplingClient"/>
/// (an immutable weight snapshot), parses and grades it, and reports the mean grade with a confidence interval (the
/// cookbook's <c>SamplingClientEvaluator</c>).
/// </summary>
/// <typeparam name="TProblem">The problem type (e.g. a question and its reference answer).</typeparam>
/// <remarks>Derived classes implement <see cref="BuildPrompt"/> and <see cref="Grade"/> (or
/// <see cref="GradeAsync"/> for graders that call out). When <see cref="SamplingParams"/> has no stop condition,
/// the renderer's stop sequences are used.</remarks>
public abstract class SamplingEvaluator<TProblem>
{
    private readonly int _maxConcurrency;

    /// <summary>Creates the evaluator.</summary>
    /// <param name="name">The metric name, e.g. <c>arithmetic/correct</c>.</param>
    /// <param name="problems">The problems, graded in this order.</param>
    /// <param name="renderer">Builds prompts and parses responses.</param>
    /// <param name="samplingParams">Max tokens, temperature, seed; stop defaults to the renderer's.</param>
    /// <param name="maxConcurrency">Most samples in flight at once.</param>
    /// <param name="confidenceLevel">Level of the reported interval.</param>
    protected SamplingEvaluator(string name, IReadOnlyList<TProblem> problems, Renderer renderer, SamplingParams samplingParams, int maxConcurrency = 32, double confidenceLevel = 0.95)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(renderer);
        ArgumentNullException.ThrowIfNull(samplingParams);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        Name = name;
        Problems = problems;
        Renderer = renderer;
        SamplingParams = samplingParams.Stop is null ? samplingParams with { Stop = renderer.GetStopSequences() } : samplingParams;
        ConfidenceLevel = confidenceLevel;
        _maxConcurrency = maxConcurrency;
    }

    /// <summary>The metric name.</summary>
    public string Name { get; }

    /// <summary>The problems.</summary>
    public IReadOnlyList<TProblem> Problems { get; }

    /// <summary>The renderer.</summary>
    public Renderer Renderer { get; }

    /// <summary>The sampling parameters actually sent (stop filled in from the renderer).</summary>
    public SamplingParams SamplingParams { get; }

    /// <summary>Level of the reported confidence interval.</summary>
    public double ConfidenceLevel { get; }

    /// <summary>Samples, parses and grades every problem.</summary>
    /// <param name="client">The sampling client (e.g. from <c>SaveWeightsAndGetSamplingClientAsync</c>).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>Per-problem scores and their mean with a confidence interval.</returns>
    public async Task<EvaluationResult> EvaluateAsync(SamplingClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var gate = new SemaphoreSlim(_maxConcurrency, _maxConcurrency);
        var tasks = Problems.Select(async problem =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var prompt = Renderer.BuildGenerationPrompt(BuildPrompt(problem));
                var future = await client.SampleAsync(WaitUntil.Completed, prompt, 1, SamplingParams, cancellationToken: cancellationToken).ConfigureAwait(false);
                var (message, parsedOk) = Renderer.ParseResponse(future.Value.Sequences[0].Tokens);
                var score = await GradeAsync(problem, message, parsedOk, cancellationToken).ConfigureAwait(false);
                return (score, parsedOk);
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        var results = await Task.WhenAll(tasks).ConfigureAwait(false);
        var scores = results.Select(r => r.score).ToArray();
        return new EvaluationResult(Name, scores, ConfidenceInterval.Of(scores, ConfidenceLevel), results.Count(r => !r.parsedOk));
    }

    /// <summary>The conversation to generate a response for.</summary>
    /// <param name="problem">The problem.</param>
    /// <returns>The messages; the renderer appends the open assistant header.</returns>
    protected abstract IReadOnlyList<Message> BuildPrompt(TProblem problem);

    /// <summary>Grades a parsed response, typically 1 for correct and 0 otherwise.</summary>
    /// <param name="problem">The problem.</param>
    /// <param name="response">The parsed response.</param>
    /// <param name="parsedOk">False when the response did not end with the stop sequence.</param>
    /// <returns>The score.</returns>
    protected abstract double Grade(TProblem problem, Message response, bool parsedOk);

    /// <summary>Grades asynchronously; the default calls <see cref="Grade"/>.</summary>
    /// <param name="problem">The problem.</param>
    /// <param name="response">The parsed response.</param>
    /// <param name="parsedOk">False when the response did not end with the stop sequence.</param>
    /// <param name="cancellationToken">Cancels grading.</param>
    /// <returns>The score.</returns>
    protected virtual Task<double> GradeAsync(TProblem problem, Message response, bool parsedOk, CancellationToken cancellationToken) =>
        Task.FromResult(Grade(problem, response, parsedOk));
}
