using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>
/// One Tinker training step as <c>LocalBackend</c> runs it on the training client's thread: <c>forward_backward</c>
/// (<see cref="TrainingComputation.Run"/>: datums → padded batch → logits → cross_entropy → backward → per-datum
/// outputs) followed by <c>optim_step</c> (AdamW over the adapter), each followed by the engine's
/// <see cref="NativeSetup.AfterStep"/> heap hook.
/// </summary>
internal sealed class TrainingWorkload
{
    private readonly BenchEngine _engine;
    private readonly ForwardBackwardInput _input;
    private readonly AdamWHyperparameters _adam = new(LearningRate: 1e-4);

    /// <summary>Prepares a cross_entropy batch of the engine's training sizes.</summary>
    public TrainingWorkload(BenchEngine engine, int seed = 42)
    {
        _engine = engine;
        var sizes = engine.Sizes;
        _input = RequestFactory.CrossEntropyInput(sizes.TrainBatch, sizes.TrainSequence, sizes.Model.VocabSize, seed);
        TokensPerStep = sizes.TrainBatch * sizes.TrainSequence;
    }

    /// <summary>Tokens per step (B·T, no padding).</summary>
    public int TokensPerStep { get; }

    /// <summary>The last forward_backward's summed loss.</summary>
    public double LastLoss { get; private set; }

    /// <summary>Runs one forward_backward + optim_step; returns the seconds of each part.</summary>
    public (double ForwardBackward, double Optim) Step()
    {
        var model = _engine.Training;
        double forwardBackward = Stats.Time(() =>
        {
            var output = TrainingComputation.Run(model, _input, backward: true, maxTokensPerMicroBatch: 16_384);
            LastLoss = output.Metrics["loss:sum"];
            NativeSetup.AfterStep();
        });
        double optim = Stats.Time(() =>
        {
            model.Optimizer.Step(_adam);
            model.Steps++;
            NativeSetup.AfterStep();
        });
        return (forwardBackward, optim);
    }
}
