using TinkerFlow.Types;

namespace TinkerFlow.Recipes.MathRl;

/// <summary>Recipe settings; every default can be overridden with <c>--key value</c> (kebab-case property name).</summary>
internal sealed record Config
{
    public string LogPath { get; init; } = "runs/math-rl";                  // metrics.jsonl, checkpoints.jsonl, warmstart/
    public string? BaseUrl { get; init; }                                   // null = embedded engine
    public string Model { get; init; } = "tinkerflow/tiny-qwen3";           // base model
    public string? Renderer { get; init; }                                  // null = recommended for the model (qwen3)
    public RlMode Mode { get; init; } = RlMode.Sync;                        // sync = on-policy; async = bounded staleness
    public string LossFn { get; init; } = LossFnType.ImportanceSampling;    // importance_sampling | ppo | cispo
    public int MaxStaleness { get; init; } = 1;                             // async: max steps a rollout's sampler may lag
    public int MaxSteps { get; init; } = 30;                                // RL optimizer steps
    public int GroupsPerBatch { get; init; } = 16;                          // problems per step
    public int GroupSize { get; init; } = 8;                                // answers sampled per problem (G)
    public double LearningRate { get; init; } = 1e-4;                       // constant; RL collapses at >= 3e-4 (engine-notes §4)
    public int LoraRank { get; init; } = 32;                                // LoRA rank
    public int MaxTokens { get; init; } = 16;                               // "99+99=198" + <|im_end|> is 10 tokens
    public double Temperature { get; init; } = 1.0;                         // sampling temperature of rollouts
    public double FormatCoef { get; init; } = 0.1;                          // reward = correct + coef·(format − 1)
    public int TestSize { get; init; } = 100;                               // fixed held-out problems (greedy)
    public int EvalEvery { get; init; } = 5;                                // steps between test evals (and step 0, and the end)
    public int SaveEvery { get; init; } = 10;                               // steps between checkpoints (0 = final only)
    public int WarmStartSteps { get; init; } = 80;                          // SFT steps on chat arithmetic first (0 = none)
    public int WarmStartBatchSize { get; init; } = 32;                      // conversations per warm-start step
    public double WarmStartLearningRate { get; init; } = 2e-3;              // warm-start peak LR, linear decay
    public int Seed { get; init; } = 0;                                     // problems, sampling seeds, LoRA init
    public bool Describe { get; init; }                                     // print the training graph and exit
}

/// <summary>How sampling and training are scheduled.</summary>
internal enum RlMode
{
    Sync,
    Async,
}
